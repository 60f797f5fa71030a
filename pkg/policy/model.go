package policy

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// Policy states as Graph spells them.
const (
	StateEnabled    = "enabled"
	StateDisabled   = "disabled"
	StateReportOnly = "enabledForReportingButNotEnforced"
)

// Policy is a conditionalAccessPolicy.
type Policy struct {
	ID               string           `json:"id"`
	DisplayName      string           `json:"displayName"`
	State            string           `json:"state"`
	CreatedDateTime  *time.Time       `json:"createdDateTime,omitempty"`
	ModifiedDateTime *time.Time       `json:"modifiedDateTime,omitempty"`
	TemplateID       string           `json:"templateId,omitempty"`
	Conditions       *Conditions      `json:"conditions,omitempty"`
	GrantControls    *GrantControls   `json:"grantControls,omitempty"`
	SessionControls  *SessionControls `json:"sessionControls,omitempty"`

	// Raw is the object exactly as loaded, kept for drift diffs.
	Raw json.RawMessage `json:"-"`
	// Source names where the policy came from (file, file[index], graph).
	Source string `json:"-"`
}

// Conditions is conditionalAccessConditionSet.
type Conditions struct {
	Users                      *UsersCondition        `json:"users,omitempty"`
	Applications               *ApplicationsCondition `json:"applications,omitempty"`
	ClientApplications         *ClientApplications    `json:"clientApplications,omitempty"`
	ClientAppTypes             StringList             `json:"clientAppTypes,omitempty"`
	Locations                  *LocationsCondition    `json:"locations,omitempty"`
	Platforms                  *PlatformsCondition    `json:"platforms,omitempty"`
	Devices                    *DevicesCondition      `json:"devices,omitempty"`
	AuthenticationFlows        *AuthenticationFlows   `json:"authenticationFlows,omitempty"`
	UserRiskLevels             StringList             `json:"userRiskLevels,omitempty"`
	SignInRiskLevels           StringList             `json:"signInRiskLevels,omitempty"`
	ServicePrincipalRiskLevels StringList             `json:"servicePrincipalRiskLevels,omitempty"`
	InsiderRiskLevels          string                 `json:"insiderRiskLevels,omitempty"`
}

// UsersCondition is conditionalAccessUsers.
type UsersCondition struct {
	IncludeUsers                 StringList        `json:"includeUsers,omitempty"`
	ExcludeUsers                 StringList        `json:"excludeUsers,omitempty"`
	IncludeGroups                StringList        `json:"includeGroups,omitempty"`
	ExcludeGroups                StringList        `json:"excludeGroups,omitempty"`
	IncludeRoles                 StringList        `json:"includeRoles,omitempty"`
	ExcludeRoles                 StringList        `json:"excludeRoles,omitempty"`
	IncludeGuestsOrExternalUsers *GuestsOrExternal `json:"includeGuestsOrExternalUsers,omitempty"`
	ExcludeGuestsOrExternalUsers *GuestsOrExternal `json:"excludeGuestsOrExternalUsers,omitempty"`
}

// GuestsOrExternal is conditionalAccessGuestsOrExternalUsers.
type GuestsOrExternal struct {
	// GuestOrExternalUserTypes is a comma-separated flags enum.
	GuestOrExternalUserTypes string           `json:"guestOrExternalUserTypes,omitempty"`
	ExternalTenants          *json.RawMessage `json:"externalTenants,omitempty"`
}

// ApplicationsCondition is conditionalAccessApplications.
type ApplicationsCondition struct {
	IncludeApplications                         StringList `json:"includeApplications,omitempty"`
	ExcludeApplications                         StringList `json:"excludeApplications,omitempty"`
	IncludeUserActions                          StringList `json:"includeUserActions,omitempty"`
	IncludeAuthenticationContextClassReferences StringList `json:"includeAuthenticationContextClassReferences,omitempty"`
	ApplicationFilter                           *Filter    `json:"applicationFilter,omitempty"`
}

// ClientApplications is conditionalAccessClientApplications: a policy with
// it targets workload identities (service principals), not users.
type ClientApplications struct {
	IncludeServicePrincipals StringList `json:"includeServicePrincipals,omitempty"`
	ExcludeServicePrincipals StringList `json:"excludeServicePrincipals,omitempty"`
}

// Filter is conditionalAccessFilter (devices and applications).
type Filter struct {
	Mode string `json:"mode"` // include | exclude
	Rule string `json:"rule"`
}

// LocationsCondition is conditionalAccessLocations.
type LocationsCondition struct {
	IncludeLocations StringList `json:"includeLocations,omitempty"`
	ExcludeLocations StringList `json:"excludeLocations,omitempty"`
}

// PlatformsCondition is conditionalAccessPlatforms.
type PlatformsCondition struct {
	IncludePlatforms StringList `json:"includePlatforms,omitempty"`
	ExcludePlatforms StringList `json:"excludePlatforms,omitempty"`
}

// DevicesCondition is conditionalAccessDevices.
type DevicesCondition struct {
	DeviceFilter *Filter `json:"deviceFilter,omitempty"`
}

// AuthenticationFlows is conditionalAccessAuthenticationFlows.
type AuthenticationFlows struct {
	// TransferMethods is a comma-separated flags enum:
	// deviceCodeFlow, authenticationTransfer, unknownFutureValue.
	TransferMethods string `json:"transferMethods,omitempty"`
}

// GrantControls is conditionalAccessGrantControls.
type GrantControls struct {
	Operator                    string                  `json:"operator,omitempty"` // AND | OR
	BuiltInControls             StringList              `json:"builtInControls,omitempty"`
	CustomAuthenticationFactors StringList              `json:"customAuthenticationFactors,omitempty"`
	TermsOfUse                  StringList              `json:"termsOfUse,omitempty"`
	AuthenticationStrength      *AuthenticationStrength `json:"authenticationStrength,omitempty"`
}

// AuthenticationStrength is authenticationStrengthPolicy as embedded in a
// policy's grant controls.
type AuthenticationStrength struct {
	ID                    string     `json:"id"`
	DisplayName           string     `json:"displayName,omitempty"`
	AllowedCombinations   StringList `json:"allowedCombinations,omitempty"`
	RequirementsSatisfied string     `json:"requirementsSatisfied,omitempty"` // none | mfa
}

// SessionControls is conditionalAccessSessionControls. Only the controls
// that can affect a delegated refresh token are modelled.
type SessionControls struct {
	SignInFrequency   *SignInFrequency   `json:"signInFrequency,omitempty"`
	PersistentBrowser *PersistentBrowser `json:"persistentBrowser,omitempty"`
}

// SignInFrequency is signInFrequencySessionControl.
type SignInFrequency struct {
	IsEnabled          bool   `json:"isEnabled"`
	Value              *int64 `json:"value,omitempty"`
	Type               string `json:"type,omitempty"`               // hours | days
	FrequencyInterval  string `json:"frequencyInterval,omitempty"`  // timeBased | everyTime
	AuthenticationType string `json:"authenticationType,omitempty"` // primaryAndSecondaryAuthentication | secondaryAuthentication
}

// PersistentBrowser is persistentBrowserSessionControl.
type PersistentBrowser struct {
	IsEnabled bool   `json:"isEnabled"`
	Mode      string `json:"mode,omitempty"` // always | never
}

// NamedLocation is an ipNamedLocation or a countryNamedLocation; Kind says
// which (derived from @odata.type or from the fields present).
type NamedLocation struct {
	ODataType                         string       `json:"@odata.type,omitempty"`
	ID                                string       `json:"id"`
	DisplayName                       string       `json:"displayName"`
	ModifiedDateTime                  *time.Time   `json:"modifiedDateTime,omitempty"`
	IsTrusted                         bool         `json:"isTrusted"`
	IPRanges                          []IPRange    `json:"ipRanges,omitempty"`
	CountriesAndRegions               StringList   `json:"countriesAndRegions,omitempty"`
	IncludeUnknownCountriesAndRegions bool         `json:"includeUnknownCountriesAndRegions"`
	CountryLookupMethod               string       `json:"countryLookupMethod,omitempty"` // clientIpAddress | authenticatorAppGps
	Kind                              LocationKind `json:"-"`
	Source                            string       `json:"-"`
}

// IPRange is iPv4CidrRange or iPv6CidrRange.
type IPRange struct {
	ODataType   string `json:"@odata.type,omitempty"`
	CIDRAddress string `json:"cidrAddress"`
}

// LocationKind tells the two named location types apart.
type LocationKind string

const (
	LocationIP      LocationKind = "ip"
	LocationCountry LocationKind = "country"
)

// StringList decodes a JSON array of strings, and also a lone string or
// null, because hand-edited and PowerShell exports sometimes flatten
// one-element arrays. Non-string elements are an error naming the index.
type StringList []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*l = nil
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = StringList{s}
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(StringList, 0, len(raw))
	for i, r := range raw {
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			return &elementError{index: i, err: err}
		}
		out = append(out, s)
	}
	*l = out
	return nil
}

type elementError struct {
	index int
	err   error
}

func (e *elementError) Error() string {
	return "element " + strconv.Itoa(e.index) + " is not a string"
}

// hasFold reports whether list holds v, ignoring ASCII case (Graph is
// case-insensitive for its well-known values such as "All").
func (l StringList) hasFold(v string) bool {
	for _, s := range l {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}

// splitFlags splits a Graph flags enum ("deviceCodeFlow,authenticationTransfer").
func splitFlags(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Ref returns the policy's identity for findings.
func (p *Policy) Ref() health.PolicyRef {
	return health.PolicyRef{ID: p.ID, DisplayName: p.DisplayName, State: p.State}
}
