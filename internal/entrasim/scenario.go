package entrasim

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

//go:embed scenarios/*.yaml
var embeddedScenarios embed.FS

// Scenario is a parsed scenario file: the tenants, their directories and
// policies, and the timed events that change them as virtual time passes.
// Relative times ("-5d", "+36h") are relative to Start.
type Scenario struct {
	// Start is the virtual time the scenario begins at. Zero means "the
	// clock's time when the simulator starts".
	Start   string           `yaml:"start,omitempty"`
	Tenants []ScenarioTenant `yaml:"tenants"`

	// baseDir resolves relative policy file paths.
	baseDir string
}

// ScenarioTenant describes one tenant.
type ScenarioTenant struct {
	ID             string           `yaml:"id,omitempty"`
	Domain         string           `yaml:"domain,omitempty"`
	DisplayName    string           `yaml:"displayName,omitempty"`
	Options        ScenarioOptions  `yaml:"options,omitempty"`
	Domains        []ScenarioDomain `yaml:"domains,omitempty"`
	Users          []ScenarioUser   `yaml:"users,omitempty"`
	Groups         []ScenarioGroup  `yaml:"groups,omitempty"`
	Roles          []ScenarioRole   `yaml:"roles,omitempty"`
	Apps           []ScenarioApp    `yaml:"apps,omitempty"`
	NamedLocations []yaml.Node      `yaml:"namedLocations,omitempty"`
	Policies       []yaml.Node      `yaml:"policies,omitempty"`
	Events         []ScenarioEvent  `yaml:"events,omitempty"`
}

// ScenarioOptions mirrors TenantOptions with YAML-friendly durations.
type ScenarioOptions struct {
	AutoApproveDeviceCode  bool              `yaml:"autoApproveDeviceCode,omitempty"`
	InteractiveUser        string            `yaml:"interactiveUser,omitempty"`
	InteractiveMFA         bool              `yaml:"interactiveMfa,omitempty"`
	IncludeAuthTime        bool              `yaml:"includeAuthTime,omitempty"`
	RememberMFADays        int               `yaml:"rememberMfaDays,omitempty"`
	AccessTokenLifetime    string            `yaml:"accessTokenLifetime,omitempty"`
	IDTokenLifetime        string            `yaml:"idTokenLifetime,omitempty"`
	RefreshTokenInactivity string            `yaml:"refreshTokenInactivity,omitempty"`
	Countries              map[string]string `yaml:"countries,omitempty"` // CIDR -> ISO code
}

// ScenarioDomain is a verified domain.
type ScenarioDomain struct {
	ID                           string `yaml:"id,omitempty"`
	Default                      bool   `yaml:"default,omitempty"`
	PasswordValidityPeriodInDays int    `yaml:"passwordValidityPeriodInDays,omitempty"`
	PasswordNotificationWindow   int    `yaml:"passwordNotificationWindowInDays,omitempty"`
}

// ScenarioUser is a directory user.
type ScenarioUser struct {
	ID             string `yaml:"id,omitempty"`
	UPN            string `yaml:"upn,omitempty"`
	DisplayName    string `yaml:"displayName,omitempty"`
	UserType       string `yaml:"userType,omitempty"`
	AccountEnabled *bool  `yaml:"accountEnabled,omitempty"`
	Locked         bool   `yaml:"locked,omitempty"`
	// PasswordLastChanged is absolute (RFC 3339) or relative ("-80d").
	PasswordLastChanged string   `yaml:"passwordLastChanged,omitempty"`
	PerUserMFA          string   `yaml:"perUserMfa,omitempty"`
	MFAMethods          []string `yaml:"mfaMethods,omitempty"`
	// BrowserSession models an existing single-sign-on session at the
	// sign-in page: interactive sign-ins for this user reuse its
	// authentication time and MFA instead of authenticating afresh, as
	// Entra does when the browser already holds a session cookie.
	BrowserSession *ScenarioBrowserSession `yaml:"browserSession,omitempty"`
}

// ScenarioBrowserSession is an existing SSO session.
type ScenarioBrowserSession struct {
	AuthenticatedAt string `yaml:"authenticatedAt,omitempty"` // e.g. "-5d"
	MFA             bool   `yaml:"mfa,omitempty"`
}

// ScenarioGroup is a group; members are user ids, UPNs or group ids.
type ScenarioGroup struct {
	ID          string   `yaml:"id,omitempty"`
	DisplayName string   `yaml:"displayName,omitempty"`
	Members     []string `yaml:"members,omitempty"`
}

// ScenarioRole is a directory role by template id.
type ScenarioRole struct {
	TemplateID  string   `yaml:"templateId,omitempty"`
	DisplayName string   `yaml:"displayName,omitempty"`
	Members     []string `yaml:"members,omitempty"`
}

// ScenarioApp is a client application known to the tenant.
type ScenarioApp struct {
	AppID           string   `yaml:"appId,omitempty"`
	DisplayName     string   `yaml:"displayName,omitempty"`
	Public          bool     `yaml:"public,omitempty"`
	Secrets         []string `yaml:"secrets,omitempty"`
	CertThumbprints []string `yaml:"certThumbprints,omitempty"`
	Certificates    []string `yaml:"certificates,omitempty"` // PEM
	ConsentedScopes []string `yaml:"consentedScopes,omitempty"`
	AppRoles        []string `yaml:"appRoles,omitempty"`
	RedirectURIs    []string `yaml:"redirectUris,omitempty"`
}

// ScenarioEvent is a change applied when virtual time reaches At.
type ScenarioEvent struct {
	At     string `yaml:"at,omitempty"` // "+36h", "+2d", or RFC 3339
	Action string `yaml:"action,omitempty"`
	// Policy is the raw Graph JSON for addPolicy/updatePolicy (inline map,
	// {file: path} or {json: "..."}).
	Policy   yaml.Node `yaml:"policy,omitempty"`
	PolicyID string    `yaml:"policyId,omitempty"`
	User     string    `yaml:"user,omitempty"`
	Group    string    `yaml:"group,omitempty"`
	Member   string    `yaml:"member,omitempty"`
	// Add is used by setMembership: true adds Member to Group, false removes.
	Add   *bool  `yaml:"add,omitempty"`
	State string `yaml:"state,omitempty"` // enablePerUserMfa: enabled or enforced
}

// LoadScenarioFile reads and validates a scenario YAML file. Policy file
// paths inside it are relative to the file's directory.
func LoadScenarioFile(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sc, err := ParseScenario(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sc.baseDir = filepath.Dir(path)
	return sc, nil
}

// DemoScenario returns the embedded demo scenario.
func DemoScenario() *Scenario {
	b, err := embeddedScenarios.ReadFile("scenarios/demo.yaml")
	if err != nil {
		panic("entrasim: embedded demo scenario missing: " + err.Error())
	}
	sc, err := ParseScenario(b)
	if err != nil {
		panic("entrasim: embedded demo scenario invalid: " + err.Error())
	}
	return sc
}

// ParseScenario decodes scenario YAML strictly: unknown keys are errors.
// The text may carry a UTF-8 or UTF-16 byte order mark.
func ParseScenario(b []byte) (*Scenario, error) {
	text, err := decodeText(b)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	if len(sc.Tenants) == 0 {
		return nil, fmt.Errorf("scenario: no tenants")
	}
	return &sc, nil
}

// parseWhen resolves an absolute RFC 3339 time or a time relative to
// start: "+36h", "-5d", "+1d12h", "90m".
func parseWhen(s string, start time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	d, err := parseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: want RFC 3339 or a relative duration like +36h or -5d", s)
	}
	return start.Add(d), nil
}

// parseDuration extends time.ParseDuration with a "d" (24 h) unit.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	sign := time.Duration(1)
	if strings.HasPrefix(s, "+") {
		s = s[1:]
	} else if strings.HasPrefix(s, "-") {
		sign, s = -1, s[1:]
	}
	var days time.Duration
	if i := strings.Index(s, "d"); i > 0 {
		var n int
		if _, err := fmt.Sscanf(s[:i], "%d", &n); err != nil || fmt.Sprint(n) != s[:i] {
			return 0, fmt.Errorf("duration %q", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
	}
	var rest time.Duration
	if s != "" {
		var err error
		if rest, err = time.ParseDuration(s); err != nil {
			return 0, err
		}
	}
	return sign * (days + rest), nil
}
