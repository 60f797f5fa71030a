package demo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/tokenhealth/tokenhealth/pkg/notify"
)

// Console is a notify integration that prints each alert to a terminal as
// it fires. The demo routes every alert to it, beside any receiver of an
// optional configuration.
type Console struct {
	mu sync.Mutex
	w  io.Writer
}

// NewConsole prints to w.
func NewConsole(w io.Writer) *Console { return &Console{w: w} }

// Notify renders the message as a short block of plain text.
func (c *Console) Notify(_ context.Context, m *notify.Message) (bool, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n>>> ALERT %s  (%s)\n", clean(notify.Title(m)), m.Now.UTC().Format("2006-01-02 15:04 UTC"))
	for _, a := range m.Alerts {
		f := a.Finding
		fmt.Fprintf(&b, "    %s: %s\n", clean(notify.TenantLabel(f)), clean(f.Summary))
		fmt.Fprintf(&b, "      %s\n", notify.When(a, m.Now))
		for _, p := range f.Policies {
			if p.DisplayName != "" {
				fmt.Fprintf(&b, "      policy: %s\n", clean(notify.PolicyLabel(p)))
			}
		}
		if a.Status == notify.StatusFiring {
			for i, r := range f.Remediation {
				if i == 2 {
					fmt.Fprintf(&b, "      ... (%d more steps)\n", len(f.Remediation)-2)
					break
				}
				fmt.Fprintf(&b, "      fix: %s\n", clean(firstLine(r)))
			}
		}
		fmt.Fprintf(&b, "      full story: %s\n", notify.ExplainCommand(f.TenantID))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := io.WriteString(c.w, b.String())
	return false, err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// clean keeps tenant-controlled text from driving the terminal.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
