package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// termWidth is the width human output is laid out for.
const termWidth = 100

// clean makes a tenant-controlled string (policy name, UPN, tenant name)
// safe for a terminal: control characters, including ESC sequences that
// could rewrite the screen, become U+FFFD.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Bidi_Control, r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

// fit shortens s to n display runes with an ellipsis.
func fit(s string, n int) string {
	s = clean(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// colours are used only on a terminal and never with NO_COLOR set.
type painter struct{ on bool }

func newPainter(w io.Writer) painter {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return painter{}
	}
	fi, err := f.Stat()
	return painter{on: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

func (p painter) state(s health.State) string {
	txt := string(s)
	if !p.on {
		return txt
	}
	code := map[health.State]string{
		health.StateHealthy: "32", health.StateWarning: "33", health.StateFailing: "31;1",
		health.StateUnreachable: "35", health.StatePending: "36",
	}[s]
	if code == "" {
		return txt
	}
	return "\x1b[" + code + "m" + txt + "\x1b[0m"
}

// padState pads a possibly coloured state word to width w.
func (p painter) padState(s health.State, w int) string {
	return p.state(s) + strings.Repeat(" ", max(0, w-len(s)))
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// wrap breaks text into lines of at most width runes, each prefixed by
// indent, so long remediation steps stay inside the terminal.
func wrap(text string, indent string, width int) string {
	words := strings.Fields(clean(text))
	var b strings.Builder
	line := indent
	for _, w := range words {
		if utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) > width && strings.TrimSpace(line) != "" {
			b.WriteString(line + "\n")
			line = indent
		}
		if strings.TrimSpace(line) != "" {
			line += " "
		}
		line += w
	}
	if strings.TrimSpace(line) != "" {
		b.WriteString(line + "\n")
	}
	return b.String()
}

func fail(env *cliEnv, code int, format string, args ...any) int {
	fmt.Fprintf(env.stderr, "tokenhealth: "+format+"\n", args...)
	return code
}
