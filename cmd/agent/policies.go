package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strings"

	"github.com/tokenhealth/tokenhealth/pkg/policy"
)

func init() {
	register(command{name: "policies", summary: "a tenant's live policy evaluation, or exported files offline (analyze)", run: runPolicies})
}

const policiesUsage = "policies analyze [flags] FILE_OR_DIR..."

// runPolicies dispatches on the sub-verb: "analyze" evaluates exported
// files offline; anything else names a tenant whose live evaluation the
// daemon answers (policies_live.go).
func runPolicies(env *cliEnv, args []string) int {
	verb, rest := subcommand(args)
	switch verb {
	case "analyze":
		return policiesAnalyze(env, rest)
	case "":
		if wantsHelp(rest) {
			printAnalyzeHelp(env)
			return 0
		}
		return fail(env, 2, "usage: tokenhealth %s\n       tokenhealth %s", policiesUsage, policiesLiveUsage)
	}
	return policiesLive(env, verb, rest)
}

// idList is a repeatable flag of object ids; "none" states "member of
// nothing", which differs from not giving the flag ("not known").
type idList struct {
	set bool
	ids []string
}

func (l *idList) String() string { return strings.Join(l.ids, ",") }

func (l *idList) Set(v string) error {
	l.set = true
	if strings.EqualFold(v, "none") {
		return nil
	}
	if !guidPattern.MatchString(v) {
		return fmt.Errorf("%q is not an object id (GUID) or \"none\"", v)
	}
	l.ids = append(l.ids, v)
	return nil
}

func (l *idList) value() []string {
	if !l.set {
		return nil
	}
	return append([]string{}, l.ids...)
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

type analyzeFlags struct {
	subject   policy.Subject
	groups    idList
	roles     idList
	locations string
	json      bool
}

func parseAnalyzeFlags(env *cliEnv, args []string) (*analyzeFlags, []string, bool) {
	a := &analyzeFlags{}
	fs := analyzeFlagSet(env, a)
	paths, ok := parseInterspersed(fs, args)
	if !ok {
		return nil, nil, false
	}
	s := &a.subject
	if err := validateSubject(s); err != nil {
		fail(env, 2, "policies analyze: %v", err)
		return nil, nil, false
	}
	if len(paths) == 0 {
		fail(env, 2, "policies analyze: name at least one exported policy file or directory")
		return nil, nil, false
	}
	s.GroupIDs, s.RoleTemplateIDs = a.groups.value(), a.roles.value()
	return a, paths, true
}

// wantsHelp reports whether -h/--help was asked for: help goes to stdout
// with exit status 0.
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			return true
		}
	}
	return false
}

func printAnalyzeHelp(env *cliEnv) {
	fs := analyzeFlagSet(env, &analyzeFlags{})
	fs.SetOutput(env.stdout)
	fmt.Fprintln(env.stdout, "Usage: tokenhealth "+policiesUsage)
	fmt.Fprintln(env.stdout, "\nEvaluates exported Conditional Access policies (Graph JSON or PowerShell exports) for the")
	fmt.Fprintln(env.stdout, "service account, without network access. Exit 0 normally, 1 when nothing could be loaded,")
	fmt.Fprintln(env.stdout, "2 on bad flags.\n\nFlags:")
	fs.PrintDefaults()
}

func analyzeFlagSet(env *cliEnv, a *analyzeFlags) *flag.FlagSet {
	s := &a.subject
	fs := newFlagSet(env, "policies analyze", policiesUsage)
	fs.StringVar(&s.UserID, "user-id", "", "object id of the service account")
	fs.StringVar(&s.UPN, "upn", "", "user principal name of the service account (for remediation text)")
	fs.Var(&a.groups, "group-id", "transitive group membership (repeatable; \"none\" = member of no group; omitted = not known)")
	fs.Var(&a.roles, "role-template-id", "directory role template id (repeatable; \"none\" = no role; omitted = not known)")
	fs.StringVar(&s.ClientAppID, "client-app-id", "", "application (client) id of the platform's app")
	fs.StringVar(&s.ResourceAppID, "resource-app-id", policy.MicrosoftGraphAppID, "resource the token is for")
	fs.StringVar(&s.ClientAppType, "client-app-type", policy.ClientAppTypeMobileDesktop, "browser, mobileAppsAndDesktopClients, exchangeActiveSync or other")
	fs.StringVar(&s.DevicePlatform, "platform", policy.PlatformLinux, "device platform Entra sees: android, iOS, windows, windowsPhone, macOS or linux")
	fs.StringVar(&s.IP, "ip", "", "egress IP address of the platform server")
	fs.StringVar(&s.Country, "country", "", "two-letter country code of the egress IP")
	fs.StringVar(&a.locations, "named-locations", "", "file with namedLocation objects or a {\"value\":[...]} list")
	fs.StringVar(&s.AuthFlow, "auth-flow", "", "how the token was enrolled: deviceCode or authorizationCode")
	fs.BoolVar(&s.TokenHasMFA, "token-has-mfa", false, "the token carries the MFA claim")
	fs.BoolVar(&a.json, "json", false, "print {\"policies\":[...]} as JSON")
	return fs
}

func validateSubject(s *policy.Subject) error {
	if s.UserID != "" && !guidPattern.MatchString(s.UserID) {
		return fmt.Errorf("--user-id %q is not an object id (GUID)", s.UserID)
	}
	for _, f := range [][2]string{{"--client-app-id", s.ClientAppID}, {"--resource-app-id", s.ResourceAppID}} {
		if f[1] != "" && !guidPattern.MatchString(f[1]) {
			return fmt.Errorf("%s %q is not an application id (GUID)", f[0], f[1])
		}
	}
	var err error
	if s.ClientAppType, err = oneOf("--client-app-type", s.ClientAppType, "browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "other"); err != nil {
		return err
	}
	if s.DevicePlatform, err = oneOf("--platform", s.DevicePlatform, "android", "iOS", "windows", "windowsPhone", "macOS", "linux"); err != nil {
		return err
	}
	if s.AuthFlow != "" {
		if s.AuthFlow, err = oneOf("--auth-flow", s.AuthFlow, policy.FlowDeviceCode, policy.FlowAuthorizationCode); err != nil {
			return err
		}
	}
	if s.IP != "" {
		if _, err := netip.ParseAddr(s.IP); err != nil {
			return fmt.Errorf("--ip %q is not an IPv4 or IPv6 address", s.IP)
		}
	}
	if s.Country != "" {
		if len(s.Country) != 2 || !isASCIILetters(s.Country) {
			return fmt.Errorf("--country %q is not a two-letter country code", s.Country)
		}
		s.Country = strings.ToUpper(s.Country)
	}
	return nil
}

// oneOf returns the canonical spelling of v among allowed (case-insensitive).
func oneOf(flagName, v string, allowed ...string) (string, error) {
	for _, a := range allowed {
		if strings.EqualFold(a, v) {
			return a, nil
		}
	}
	return "", fmt.Errorf("%s %q must be one of %s", flagName, v, strings.Join(allowed, ", "))
}

func isASCIILetters(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func policiesAnalyze(env *cliEnv, args []string) int {
	if wantsHelp(args) {
		printAnalyzeHelp(env)
		return 0
	}
	a, paths, ok := parseAnalyzeFlags(env, args)
	if !ok {
		return 2
	}
	loaded, err := policy.LoadPaths(paths...)
	if err != nil {
		return fail(env, 1, "policies analyze: %v", err)
	}
	if a.locations != "" {
		nl, err := policy.LoadPaths(a.locations)
		if err != nil {
			return fail(env, 1, "policies analyze: --named-locations: %v", err)
		}
		loaded.Locations = append(loaded.Locations, nl.Locations...)
		loaded.Skipped = append(loaded.Skipped, nl.Skipped...)
		if len(nl.Policies) > 0 {
			loaded.Skipped = append(loaded.Skipped, policy.Skipped{Source: a.locations,
				Reason: fmt.Sprintf("%d policies in the --named-locations file were ignored; name policy files as arguments", len(nl.Policies))})
		}
	}
	for _, s := range loaded.Skipped {
		fmt.Fprintf(env.stderr, "skipped %s: %s\n", policy.Sanitize(s.Source), policy.Sanitize(s.Reason))
	}
	if len(loaded.Policies) == 0 {
		return fail(env, 1, "policies analyze: no Conditional Access policy could be loaded from %s", strings.Join(paths, ", "))
	}
	evs := policy.Evaluate(loaded.Policies, loaded.Locations, a.subject)
	policy.SortByImpact(evs)
	if a.json {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // portal paths use ">"; keep them readable
		if err := enc.Encode(analyzeJSON(evs, loaded.Skipped)); err != nil {
			return fail(env, 1, "policies analyze: %v", err)
		}
		return 0
	}
	renderAnalysis(env.stdout, evs, len(loaded.Locations))
	return 0
}

// analyzedPolicy is the stable --json shape of one evaluation.
type analyzedPolicy struct {
	ID                     string        `json:"id"`
	DisplayName            string        `json:"displayName"`
	State                  string        `json:"state"`
	Applies                policy.Tri    `json:"applies"`
	Reasons                []string      `json:"reasons"`
	Impact                 policy.Impact `json:"impact"`
	ImpactIfApplies        policy.Impact `json:"impactIfApplies"`
	Controls               []string      `json:"controls"`
	SignInFrequencySeconds int64         `json:"signInFrequencySeconds,omitempty"`
	PersistentBrowser      string        `json:"persistentBrowser,omitempty"`
	Remediation            []string      `json:"remediation"`
	Source                 string        `json:"source"`
}

type analyzeOutput struct {
	Policies []analyzedPolicy `json:"policies"`
	Skipped  []policy.Skipped `json:"skipped"`
}

func analyzeJSON(evs []policy.Evaluation, skipped []policy.Skipped) analyzeOutput {
	out := analyzeOutput{Policies: make([]analyzedPolicy, 0, len(evs)), Skipped: skipped}
	if out.Skipped == nil {
		out.Skipped = []policy.Skipped{}
	}
	for _, ev := range evs {
		ap := analyzedPolicy{ID: ev.Policy.ID, DisplayName: ev.Policy.DisplayName, State: ev.Policy.State,
			Applies: ev.Applies, Reasons: nonNil(ev.Reasons), Impact: ev.Impact, ImpactIfApplies: ev.ImpactIfApplies,
			Controls: nonNil(ev.Controls), PersistentBrowser: ev.PersistentBrowser, Remediation: nonNil(ev.Remediation)}
		if ev.ImpactIfApplies == policy.ImpactBreaksAfter {
			ap.SignInFrequencySeconds = ev.SignInFrequencySeconds
		}
		if ev.Def != nil {
			ap.Source = ev.Def.Source
		}
		out.Policies = append(out.Policies, ap)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Column widths of the table; together with separators they fit termWidth.
const (
	colImpact  = 23
	colApplies = 7
	colSIF     = 8
	colState   = 11
)

// renderAnalysis prints an aligned table, most urgent first, then the
// reasons and remediation of every policy that breaks or may break the token.
func renderAnalysis(w io.Writer, evs []policy.Evaluation, locations int) {
	nameWidth := termWidth - colImpact - colApplies - colSIF - colState - 4*2
	fmt.Fprintf(w, "%-*s  %-*s  %-*s  %-*s  %s\n", colImpact, "IMPACT", colApplies, "APPLIES", colSIF, "SIF", colState, "STATE", "POLICY")
	for _, ev := range evs {
		sif := "-"
		if ev.ImpactIfApplies == policy.ImpactBreaksAfter && ev.SignInFrequencySeconds > 0 {
			sif = policySIF(ev.SignInFrequencySeconds)
		} else if ev.ImpactIfApplies == policy.ImpactBreaksEveryRefresh {
			sif = "every"
		}
		fmt.Fprintf(w, "%-*s  %-*s  %-*s  %-*s  %s\n", colImpact, ev.Impact, colApplies, ev.Applies, colSIF, sif,
			colState, fit(shortState(ev.Policy.State), colState), fit(policy.Sanitize(ev.Policy.DisplayName), nameWidth))
	}
	fmt.Fprintf(w, "\n%d policies evaluated, %d named locations known.\n", len(evs), locations)
	for _, ev := range evs {
		if ev.Impact == policy.ImpactNone && !(ev.Applies == policy.Unknown && ev.ImpactIfApplies.Breaking()) {
			continue
		}
		fmt.Fprintf(w, "\n%s [%s] %s\n", fit(policy.Sanitize(ev.Policy.DisplayName), termWidth-40), ev.Impact, ev.Policy.ID)
		for _, r := range ev.Reasons {
			fmt.Fprint(w, wrapItem("    - ", policy.Sanitize(r)))
		}
		for _, c := range ev.Controls {
			fmt.Fprint(w, wrapItem("    - ", "control: "+policy.Sanitize(c)))
		}
		for _, r := range ev.Remediation {
			// The Graph request stays on one line so it can be copied.
			if strings.HasPrefix(r, "Equivalent Graph request:") {
				fmt.Fprintf(w, "    > %s\n", policy.Sanitize(r))
				continue
			}
			fmt.Fprint(w, wrapItem("    > ", policy.Sanitize(r)))
		}
	}
}

// wrapItem wraps text to the terminal width with bullet on the first line
// and the continuation lines indented under the text.
func wrapItem(bullet, text string) string {
	cont := strings.Repeat(" ", len(bullet))
	out := wrap(text, cont, termWidth)
	return bullet + strings.TrimPrefix(out, cont)
}

func shortState(s string) string {
	if s == policy.StateReportOnly {
		return "reportOnly"
	}
	return s
}

// policySIF renders a sign-in frequency compactly: 7d, 12h.
func policySIF(sec int64) string {
	switch {
	case sec%86400 == 0:
		return fmt.Sprintf("%dd", sec/86400)
	case sec%3600 == 0:
		return fmt.Sprintf("%dh", sec/3600)
	}
	return fmt.Sprintf("%ds", sec)
}

var _ flag.Value = (*idList)(nil)
