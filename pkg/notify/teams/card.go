package teams

import (
	"fmt"
	"strings"

	"github.com/tokenhealth/tokenhealth/pkg/notify"
)

// markdownSpecial are the characters Adaptive Card TextBlocks interpret
// anywhere in a line (emphasis, links, code, HTML-like tags); each is
// backslash-escaped in tenant-controlled text. List and heading markers
// only count at the start of a line and are escaped there.
const markdownSpecial = "\\`*_[]()<>~"

// Escape makes s literal text in an Adaptive Card TextBlock or Fact.
func Escape(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = escapeLine(l)
	}
	return strings.Join(lines, "\n")
}

func escapeLine(l string) string {
	var b strings.Builder
	switch {
	case strings.HasPrefix(l, "#"), strings.HasPrefix(l, "-"), strings.HasPrefix(l, "+"):
		b.WriteByte('\\')
	default:
		// "1. text" would start an ordered list: escape its dot.
		n := 0
		for n < len(l) && l[n] >= '0' && l[n] <= '9' {
			n++
		}
		if n > 0 && n < len(l) && l[n] == '.' {
			b.WriteString(l[:n])
			b.WriteByte('\\')
			l = l[n:]
		}
	}
	for _, r := range l {
		if strings.ContainsRune(markdownSpecial, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

type element = map[string]any

func textBlock(text string, extra ...any) element {
	e := element{"type": "TextBlock", "text": text, "wrap": true}
	for i := 0; i+1 < len(extra); i += 2 {
		e[extra[i].(string)] = extra[i+1]
	}
	return e
}

var severityColor = map[string]string{"critical": "Attention", "warning": "Warning", "info": "Accent"}

// Card builds the Workflows webhook body: a message with one Adaptive Card.
func Card(m *notify.Message) map[string]any {
	color := severityColor[string(m.Severity)]
	if m.Status == notify.StatusResolved {
		color = "Good"
	}
	body := []any{textBlock(Escape(notify.Title(m)), "weight", "Bolder", "size", "Large", "color", color)}
	for _, a := range m.Alerts {
		body = append(body, alertContainer(a, m))
	}
	body = append(body, textBlock(Escape(fmt.Sprintf("tokenhealth · %s · %s · id %s", m.Reason, notify.AbsoluteUTC(m.Now), m.ID)),
		"isSubtle", true, "size", "Small"))
	return map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content": map[string]any{
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
				"type":    "AdaptiveCard",
				"version": "1.4",
				"msteams": map[string]any{"width": "Full"},
				"body":    body,
			},
		}},
	}
}

func alertContainer(a notify.Alert, m *notify.Message) element {
	f := a.Finding
	items := []any{
		textBlock(fmt.Sprintf("**%s** (%s)", Escape(f.TenantName), Escape(f.TenantID)), "size", "Medium"),
	}
	if f.Summary != "" {
		items = append(items, textBlock(Escape(f.Summary)))
	}
	facts := []any{
		map[string]any{"title": "Severity", "value": Escape(string(a.Severity))},
		map[string]any{"title": "When", "value": Escape(notify.When(a, m.Now))},
	}
	for _, p := range f.Policies {
		facts = append(facts, map[string]any{"title": "Policy", "value": Escape(notify.PolicyLabel(p) + " (" + p.ID + ")")})
	}
	facts = append(facts, map[string]any{"title": "Full story", "value": Escape(notify.ExplainCommand(f.TenantID))})
	items = append(items, element{"type": "FactSet", "facts": facts})
	if len(f.Evidence) > 0 {
		var lines []string
		for _, e := range f.Evidence {
			lines = append(lines, "- "+Escape(e))
		}
		items = append(items, textBlock("**Evidence**\n\n"+strings.Join(lines, "\n")))
	}
	if a.Status == notify.StatusFiring && len(f.Remediation) > 0 {
		var lines []string
		for i, r := range f.Remediation {
			lines = append(lines, fmt.Sprintf("%d. %s", i+1, Escape(r)))
		}
		items = append(items, textBlock("**Fix**\n\n"+strings.Join(lines, "\n")))
	}
	return element{"type": "Container", "separator": true, "items": items}
}
