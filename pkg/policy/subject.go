package policy

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Well-known application ids.
const (
	MicrosoftGraphAppID = "00000003-0000-0000-c000-000000000000"
	AzureADGraphAppID   = "00000002-0000-0000-c000-000000000000"
)

// Client app types, device platforms and token flows as Graph spells them.
const (
	ClientAppTypeMobileDesktop = "mobileAppsAndDesktopClients"
	PlatformLinux              = "linux"
	FlowDeviceCode             = "deviceCode"
	FlowAuthorizationCode      = "authorizationCode"
)

// Subject describes one token refresh: who, which client, which resource,
// from where. The zero value of each optional field means "not known", and
// a condition that needs it evaluates to unknown rather than to a guess.
type Subject struct {
	UserID string
	UPN    string // only for remediation text
	// GroupIDs and RoleTemplateIDs are the account's transitive group
	// memberships and directory role template ids. nil means "not known"
	// (a policy scoped to groups then applies "unknown"); an empty non-nil
	// slice means "member of none".
	GroupIDs        []string
	RoleTemplateIDs []string
	ClientAppID     string
	ResourceAppID   string // default Microsoft Graph
	ClientAppType   string // default mobileAppsAndDesktopClients
	DevicePlatform  string // default linux (the platform server)
	IP              string // IPv4 or IPv6 literal as Entra sees it (egress address)
	Country         string // ISO 3166-1 alpha-2 of IP, "" when not known
	AuthFlow        string // deviceCode | authorizationCode | "" (unknown)
	TokenHasMFA     bool
	IsGuest         bool
	// UserRisk, SignInRisk and InsiderRisk are risk levels when known
	// (none, low, medium, high / minor, moderate, elevated); "" = unknown.
	UserRisk    string
	SignInRisk  string
	InsiderRisk string
	// Names maps directory object ids (groups, roles, users) to display
	// names, used only to make reasons readable.
	Names map[string]string

	cached subjectReasons // filled by withDefaults, once per Evaluate
}

// subjectReasons are reason strings that depend only on the subject, built
// once per evaluation instead of once per policy.
type subjectReasons struct {
	clientTypeIncluded, platformIncluded, platformExcluded string
}

// withDefaults fills the documented defaults for a platform server.
func (s Subject) withDefaults() Subject {
	if s.ResourceAppID == "" {
		s.ResourceAppID = MicrosoftGraphAppID
	}
	if s.ClientAppType == "" {
		s.ClientAppType = ClientAppTypeMobileDesktop
	}
	if s.DevicePlatform == "" {
		s.DevicePlatform = PlatformLinux
	}
	s.cached = subjectReasons{
		clientTypeIncluded: "client app type " + s.ClientAppType + " included",
		platformIncluded:   "device platform " + s.DevicePlatform + " included",
		platformExcluded:   "device platform " + s.DevicePlatform + " excluded",
	}
	return s
}

// name renders an id with its display name when one is known.
func (s *Subject) name(kind, id string) string {
	if n, ok := s.Names[strings.ToLower(id)]; ok && n != "" {
		return fmt.Sprintf("%s '%s' (%s)", kind, n, id)
	}
	if n, ok := s.Names[id]; ok && n != "" {
		return fmt.Sprintf("%s '%s' (%s)", kind, n, id)
	}
	return kind + " " + id
}

// Tri is a three-valued answer: a condition can be known to hold, known not
// to hold, or not be decidable from the data at hand.
type Tri int8

const (
	Unknown Tri = iota
	False
	True
)

func (t Tri) String() string {
	switch t {
	case True:
		return "true"
	case False:
		return "false"
	}
	return "unknown"
}

// MarshalJSON renders true, false or null.
func (t Tri) MarshalJSON() ([]byte, error) {
	switch t {
	case True:
		return []byte("true"), nil
	case False:
		return []byte("false"), nil
	}
	return []byte("null"), nil
}

// UnmarshalJSON reads true, false or null.
func (t *Tri) UnmarshalJSON(b []byte) error {
	var v *bool
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("applies must be true, false or null: %w", err)
	}
	switch {
	case v == nil:
		*t = Unknown
	case *v:
		*t = True
	default:
		*t = False
	}
	return nil
}
