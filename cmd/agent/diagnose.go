package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

func init() {
	register(command{name: "diagnose", summary: "explain any Entra ID token error text (AADSTS codes)", run: runDiagnose})
}

const diagnoseUsage = "diagnose [--json] [TEXT...]\n\n" +
	"Classifies an error pasted from anywhere: a token-endpoint JSON body, an MSAL\n" +
	"exception (Go, Node, Python, .NET), an oauth2 or SharePoint/Graph error, escaped\n" +
	"or URL-encoded JSON, or a sign-in error page. Without TEXT (or with TEXT \"-\")\n" +
	"the text is read from standard input.\n\n" +
	"Exit status: 0 recognised, 1 nothing recognised, 2 usage error."

// maxDiagnoseInput bounds what is read from standard input: errors are a
// few kilobytes; a whole log file is a mistake worth saying so.
const maxDiagnoseInput = 1 << 20

func runDiagnose(env *cliEnv, args []string) int {
	fs := newFlagSet(env, "diagnose", diagnoseUsage)
	asJSON := fs.Bool("json", false, "print the diagnosis as one JSON object")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// Flags come first so pasted words starting with '-' stay text; a
	// trailing --json is accepted too, as people add it last.
	rest := fs.Args()
	if n := len(rest); n > 0 && (rest[n-1] == "--json" || rest[n-1] == "-json") {
		*asJSON, rest = true, rest[:n-1]
	}
	text, err := diagnoseInput(env, rest)
	if err != nil {
		return fail(env, 2, "%v", err)
	}
	d := probe.Diagnose(text)
	code := 0
	if !d.Recognized() {
		code = 1
	}
	if *asJSON {
		if err := printJSON(env.stdout, d); err != nil {
			return fail(env, 1, "%v", err)
		}
		return code
	}
	renderDiagnosis(env.stdout, d)
	return code
}

// diagnoseInput joins the arguments, or reads standard input when there
// are none (or the only one is "-").
func diagnoseInput(env *cliEnv, args []string) (string, error) {
	if len(args) > 0 && !(len(args) == 1 && args[0] == "-") {
		return strings.Join(args, " "), nil
	}
	if f, ok := env.stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintln(env.stderr, "Paste the error text, then press Ctrl-D:")
		}
	}
	if env.stdin == nil {
		return "", fmt.Errorf("nothing to diagnose: give the error text as an argument or on standard input")
	}
	raw, err := io.ReadAll(io.LimitReader(env.stdin, maxDiagnoseInput+1))
	if err != nil {
		return "", fmt.Errorf("reading standard input: %v", err)
	}
	if len(raw) > maxDiagnoseInput {
		return "", fmt.Errorf("standard input is larger than %d bytes: paste only the error, not the whole log", maxDiagnoseInput)
	}
	if strings.TrimSpace(string(raw)) == "" {
		return "", fmt.Errorf("nothing to diagnose: give the error text as an argument or on standard input")
	}
	return string(raw), nil
}

// labelWidth aligns the human block: "Explanation" plus two spaces.
const labelWidth = 13

// renderDiagnosis prints the short aligned block, every line within
// termWidth columns.
func renderDiagnosis(w io.Writer, d probe.Diagnosis) {
	if len(d.Codes) > 0 {
		codes := make([]string, len(d.Codes))
		for i, c := range d.Codes {
			codes[i] = fmt.Sprintf("AADSTS%d", c)
		}
		labelled(w, "Codes", strings.Join(codes, ", "))
	} else {
		labelled(w, "Codes", "none")
	}
	labelled(w, "Cause", string(d.Cause))
	labelled(w, "Verdict", verdictText(d))
	if d.Error != "" {
		e := d.Error
		if d.SubError != "" {
			e += " (suberror " + d.SubError + ")"
		}
		labelled(w, "Error", e)
	}
	labelled(w, "Explanation", d.Explanation)
	if d.Remediation != "" {
		labelled(w, "Remediation", d.Remediation)
	}
	if len(d.Values) > 0 {
		keys := make([]string, 0, len(d.Values))
		keyWidth := 0
		for k := range d.Values {
			keys = append(keys, k)
			keyWidth = max(keyWidth, len(k))
		}
		sort.Strings(keys)
		for i, k := range keys {
			label := ""
			if i == 0 {
				label = "Values"
			}
			line := fmt.Sprintf("%-*s  %s", keyWidth, k, fit(d.Values[k], termWidth-labelWidth-keyWidth-2))
			fmt.Fprintf(w, "%-*s%s\n", labelWidth, label, line)
		}
	}
	if d.LookupURL != "" {
		labelled(w, "Lookup", d.LookupURL)
	}
}

func verdictText(d probe.Diagnosis) string {
	switch {
	case d.Definitive && d.ReEnroll:
		return "definitive: the token is dead; fix the cause, then re-enroll"
	case d.Definitive:
		return "definitive: retrying will not help until the cause is fixed"
	case d.Transient:
		return "transient: says nothing about the token; the next probe retries"
	case d.Recognized():
		return "undecided: not a verdict on the token by itself"
	}
	return "nothing recognised"
}

// labelled prints "Label        text", wrapping text under itself.
func labelled(w io.Writer, label, text string) {
	indent := strings.Repeat(" ", labelWidth)
	body := wrap(text, indent, termWidth)
	if body == "" {
		body = indent + "\n"
	}
	// Replace the first line's indent by the label (same width).
	pad := label + strings.Repeat(" ", max(0, labelWidth-utf8.RuneCountInString(label)))
	fmt.Fprint(w, pad+body[labelWidth:])
}
