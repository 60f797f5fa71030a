package email

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"

	"github.com/tokenhealth/tokenhealth/pkg/notify"
)

// view is what both parts render; every field is plain text, and the
// HTML template escapes each one (html/template, contextual escaping).
type view struct {
	Title  string
	Color  string
	Alerts []alertView
	Footer string
}

type alertView struct {
	Tenant      string
	TenantID    string
	Summary     string
	When        string
	Policies    []string
	Evidence    []string
	Remediation []string
	Explain     string
}

func newView(m *notify.Message) view {
	v := view{Title: notify.Title(m), Color: colors[string(m.Severity)],
		Footer: fmt.Sprintf("tokenhealth · %s · %s · id %s", m.Reason, notify.AbsoluteUTC(m.Now), m.ID)}
	if m.Status == notify.StatusResolved {
		v.Color = "#2e7d32"
	}
	for _, a := range m.Alerts {
		f := a.Finding
		av := alertView{Tenant: f.TenantName, TenantID: f.TenantID, Summary: f.Summary, When: notify.When(a, m.Now),
			Evidence: f.Evidence, Explain: notify.ExplainCommand(f.TenantID)}
		for _, p := range f.Policies {
			av.Policies = append(av.Policies, notify.PolicyLabel(p)+" ("+p.ID+")")
		}
		if a.Status == notify.StatusFiring {
			av.Remediation = f.Remediation
		}
		v.Alerts = append(v.Alerts, av)
	}
	return v
}

var colors = map[string]string{"critical": "#c62828", "warning": "#ef6c00", "info": "#1565c0"}

// Subject is the headline on one line: a CR or LF from a tenant name must
// not start a new header.
func Subject(m *notify.Message) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, notify.Title(m))
}

// Text renders the plain-text part.
func Text(m *notify.Message) string {
	v := newView(m)
	var b strings.Builder
	b.WriteString(v.Title + "\n")
	for _, a := range v.Alerts {
		fmt.Fprintf(&b, "\n== %s (%s) ==\n", a.Tenant, a.TenantID)
		if a.Summary != "" {
			b.WriteString(a.Summary + "\n")
		}
		fmt.Fprintf(&b, "When: %s\n", a.When)
		for _, p := range a.Policies {
			fmt.Fprintf(&b, "Responsible policy: %s\n", p)
		}
		if len(a.Evidence) > 0 {
			b.WriteString("Evidence:\n")
			for _, e := range a.Evidence {
				fmt.Fprintf(&b, "  - %s\n", e)
			}
		}
		if len(a.Remediation) > 0 {
			b.WriteString("Fix:\n")
			for i, r := range a.Remediation {
				fmt.Fprintf(&b, "  %d. %s\n", i+1, r)
			}
		}
		fmt.Fprintf(&b, "Full story: %s\n", a.Explain)
	}
	b.WriteString("\n-- \n" + v.Footer + "\n")
	return b.String()
}

var htmlTmpl = template.Must(template.New("mail").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body style="font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#222">
<h2 style="color:{{.Color}};margin:0 0 12px 0">{{.Title}}</h2>
{{range .Alerts}}<div style="border-left:4px solid {{$.Color}};padding:4px 12px;margin:12px 0">
<p style="margin:0"><b>{{.Tenant}}</b> <code>{{.TenantID}}</code></p>
{{if .Summary}}<p>{{.Summary}}</p>{{end}}
<p><b>When:</b> {{.When}}</p>
{{if .Policies}}<p><b>Responsible policy:</b></p><ul>{{range .Policies}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Evidence}}<p><b>Evidence:</b></p><ul>{{range .Evidence}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Remediation}}<p><b>Fix:</b></p><ol>{{range .Remediation}}<li>{{.}}</li>{{end}}</ol>{{end}}
<p><b>Full story:</b> <code>{{.Explain}}</code></p>
</div>
{{end}}<p style="color:#777;font-size:12px">{{.Footer}}</p>
</body></html>
`))

// HTML renders the HTML part.
func HTML(m *notify.Message) (string, error) {
	var buf bytes.Buffer
	if err := htmlTmpl.Execute(&buf, newView(m)); err != nil {
		return "", err
	}
	return buf.String(), nil
}
