package slack

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/tokenhealth/tokenhealth/pkg/notify"
)

// Slack limits: 50 blocks per message, 3000 characters per section text,
// 150 per header. Larger groups list the remaining tenants by name.
const (
	maxAlertSections = 20
	maxSectionText   = 3000
	maxHeaderText    = 150
)

// Escape makes tenant-controlled text inert in Slack mrkdwn: with &, < and
// > escaped no <!channel>, <@U123> or <https://evil|link> can form, and we
// never set link_names, so a bare "@channel" stays text.
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, truncate(s, maxSectionText), false, false)
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

var severityEmoji = map[string]string{"critical": ":red_circle:", "warning": ":warning:", "info": ":information_source:"}

// Render builds the Block Kit blocks and the notification fallback text.
// The header holds only our own words; every tenant-controlled string is
// in mrkdwn and escaped.
func Render(m *notify.Message) ([]slack.Block, string) {
	emoji := severityEmoji[string(m.Severity)]
	if m.Status == notify.StatusResolved {
		emoji = ":white_check_mark:"
	}
	tenants := m.Tenants()
	head := fmt.Sprintf("%s %s", strings.ToUpper(string(m.Severity)), notify.KindTitle(m.Kind))
	if m.Status == notify.StatusResolved {
		head = "RESOLVED " + notify.KindTitle(m.Kind)
	}
	if m.Reason == notify.ReasonTest {
		head = "TEST " + head
	}
	if len(tenants) > 1 {
		head += fmt.Sprintf(" (%d tenants)", len(tenants))
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, truncate(head, maxHeaderText), false, false)),
	}
	for i, a := range m.Alerts {
		if i == maxAlertSections {
			var rest []string
			for _, b := range m.Alerts[i:] {
				rest = append(rest, Escape(notify.TenantLabel(b.Finding)))
			}
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(fmt.Sprintf("…and %d more: %s", len(rest), strings.Join(rest, ", "))), nil, nil))
			break
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(emoji+" "+alertText(a, m)), nil, nil))
	}
	blocks = append(blocks, slack.NewDividerBlock(), slack.NewContextBlock("",
		slack.NewTextBlockObject(slack.MarkdownType, fmt.Sprintf("tokenhealth · %s · %s · id %s", m.Reason, notify.AbsoluteUTC(m.Now), m.ID), false, false)))

	var names []string
	for _, f := range tenants {
		names = append(names, notify.TenantLabel(f))
	}
	fallback := Escape(fmt.Sprintf("%s: %s", head, strings.Join(names, ", ")))
	return blocks, truncate(fallback, maxSectionText)
}

func alertText(a notify.Alert, m *notify.Message) string {
	f := a.Finding
	var b strings.Builder
	fmt.Fprintf(&b, "*%s* (`%s`)\n", Escape(f.TenantName), Escape(f.TenantID))
	if f.Summary != "" {
		fmt.Fprintf(&b, "%s\n", Escape(f.Summary))
	}
	fmt.Fprintf(&b, "*When:* %s\n", notify.When(a, m.Now))
	if len(f.Policies) > 0 {
		b.WriteString("*Responsible policy:*\n")
		for _, p := range f.Policies {
			fmt.Fprintf(&b, "• %s (`%s`)\n", Escape(notify.PolicyLabel(p)), Escape(p.ID))
		}
	}
	if len(f.Evidence) > 0 {
		b.WriteString("*Evidence:*\n")
		for _, e := range f.Evidence {
			fmt.Fprintf(&b, "• %s\n", Escape(e))
		}
	}
	if a.Status == notify.StatusFiring && len(f.Remediation) > 0 {
		b.WriteString("*Fix:*\n")
		for i, r := range f.Remediation {
			fmt.Fprintf(&b, "%d. %s\n", i+1, Escape(r))
		}
	}
	fmt.Fprintf(&b, "*Full story:* `%s`", Escape(notify.ExplainCommand(f.TenantID)))
	return b.String()
}
