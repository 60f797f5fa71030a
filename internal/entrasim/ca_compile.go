package entrasim

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// compiledPolicy is a CA policy reduced to what evaluation needs, built once
// when the policy changes so that a token grant never parses JSON. Unknown
// enum values are kept as strings and simply never match, as a future
// condition the simulator does not know cannot be satisfied by it either.
type compiledPolicy struct {
	state string

	includeUsers, excludeUsers   set
	includeGroups, excludeGroups set
	includeRoles, excludeRoles   set
	includeGuests, excludeGuests bool

	includeApps, excludeApps set
	userActions              bool // includeUserActions: never a token grant

	clientAppTypes set // empty means all

	hasPlatforms                       bool
	includePlatforms, excludePlatforms set

	hasLocations                       bool
	includeLocations, excludeLocations set

	transferMethods set // authenticationFlows.transferMethods

	// Risk conditions: the simulated sign-ins carry no risk ("none").
	riskLevels []set

	hasDeviceFilter  bool
	deviceFilterMode string

	grantOperator  string // AND or OR
	grantControls  []string
	authStrength   bool // authenticationStrength present: needs MFA
	termsOfUse     bool
	noGrantControl bool

	sif *signInFrequency
}

type signInFrequency struct {
	everyTime bool
	limit     time.Duration
	// secondaryOnly: authenticationType secondaryAuthentication, which
	// measures from the last MFA instead of the last authentication.
	secondaryOnly bool
}

// set holds the ids a condition names. graph_evaluate.go builds sets too.
type set map[string]bool

func newSet(items []string, lower bool) set {
	if len(items) == 0 {
		return nil // most conditions are empty; a nil map reads as empty
	}
	s := make(set, len(items))
	for _, it := range items {
		if lower {
			it = strings.ToLower(it)
		}
		s[it] = true
	}
	return s
}

func (s set) has(x string) bool { return s[x] }

// rawPolicy is the Graph conditionalAccessPolicy schema, the fields the
// simulator evaluates.
type rawPolicy struct {
	State      string `json:"state"`
	Conditions *struct {
		Users *struct {
			IncludeUsers                 []string        `json:"includeUsers"`
			ExcludeUsers                 []string        `json:"excludeUsers"`
			IncludeGroups                []string        `json:"includeGroups"`
			ExcludeGroups                []string        `json:"excludeGroups"`
			IncludeRoles                 []string        `json:"includeRoles"`
			ExcludeRoles                 []string        `json:"excludeRoles"`
			IncludeGuestsOrExternalUsers json.RawMessage `json:"includeGuestsOrExternalUsers"`
			ExcludeGuestsOrExternalUsers json.RawMessage `json:"excludeGuestsOrExternalUsers"`
		} `json:"users"`
		Applications *struct {
			IncludeApplications []string `json:"includeApplications"`
			ExcludeApplications []string `json:"excludeApplications"`
			IncludeUserActions  []string `json:"includeUserActions"`
		} `json:"applications"`
		ClientAppTypes []string `json:"clientAppTypes"`
		Platforms      *struct {
			IncludePlatforms []string `json:"includePlatforms"`
			ExcludePlatforms []string `json:"excludePlatforms"`
		} `json:"platforms"`
		Locations *struct {
			IncludeLocations []string `json:"includeLocations"`
			ExcludeLocations []string `json:"excludeLocations"`
		} `json:"locations"`
		AuthenticationFlows *struct {
			TransferMethods string `json:"transferMethods"`
		} `json:"authenticationFlows"`
		UserRiskLevels             []string `json:"userRiskLevels"`
		SignInRiskLevels           []string `json:"signInRiskLevels"`
		ServicePrincipalRiskLevels []string `json:"servicePrincipalRiskLevels"`
		InsiderRiskLevels          *string  `json:"insiderRiskLevels"`
		Devices                    *struct {
			DeviceFilter *struct {
				Mode string `json:"mode"`
				Rule string `json:"rule"`
			} `json:"deviceFilter"`
		} `json:"devices"`
	} `json:"conditions"`
	GrantControls *struct {
		Operator                    string          `json:"operator"`
		BuiltInControls             []string        `json:"builtInControls"`
		CustomAuthenticationFactors []string        `json:"customAuthenticationFactors"`
		TermsOfUse                  []string        `json:"termsOfUse"`
		AuthenticationStrength      json.RawMessage `json:"authenticationStrength"`
	} `json:"grantControls"`
	SessionControls *struct {
		SignInFrequency *struct {
			IsEnabled          *bool  `json:"isEnabled"`
			Value              *int   `json:"value"`
			Type               string `json:"type"`
			FrequencyInterval  string `json:"frequencyInterval"`
			AuthenticationType string `json:"authenticationType"`
		} `json:"signInFrequency"`
	} `json:"sessionControls"`
}

func compilePolicy(raw json.RawMessage) (*compiledPolicy, error) {
	var p rawPolicy
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	if p.Conditions == nil || p.Conditions.Users == nil || p.Conditions.Applications == nil {
		return nil, fmt.Errorf("conditions.users and conditions.applications are required")
	}
	c := &compiledPolicy{state: p.State}
	u := p.Conditions.Users
	c.includeUsers, c.excludeUsers = newSet(u.IncludeUsers, true), newSet(u.ExcludeUsers, true)
	c.includeGroups, c.excludeGroups = newSet(u.IncludeGroups, true), newSet(u.ExcludeGroups, true)
	c.includeRoles, c.excludeRoles = newSet(u.IncludeRoles, true), newSet(u.ExcludeRoles, true)
	c.includeGuests = isJSONObject(u.IncludeGuestsOrExternalUsers)
	c.excludeGuests = isJSONObject(u.ExcludeGuestsOrExternalUsers)
	a := p.Conditions.Applications
	c.includeApps, c.excludeApps = newSet(a.IncludeApplications, true), newSet(a.ExcludeApplications, true)
	c.userActions = len(a.IncludeUserActions) > 0
	c.clientAppTypes = newSet(p.Conditions.ClientAppTypes, false)
	if pl := p.Conditions.Platforms; pl != nil && len(pl.IncludePlatforms) > 0 {
		c.hasPlatforms = true
		c.includePlatforms, c.excludePlatforms = newSet(pl.IncludePlatforms, true), newSet(pl.ExcludePlatforms, true)
	}
	if l := p.Conditions.Locations; l != nil && len(l.IncludeLocations) > 0 {
		c.hasLocations = true
		c.includeLocations, c.excludeLocations = newSet(l.IncludeLocations, true), newSet(l.ExcludeLocations, true)
	}
	if f := p.Conditions.AuthenticationFlows; f != nil && f.TransferMethods != "" {
		c.transferMethods = newSet(strings.Split(f.TransferMethods, ","), false)
	}
	for _, levels := range [][]string{p.Conditions.UserRiskLevels, p.Conditions.SignInRiskLevels, p.Conditions.ServicePrincipalRiskLevels} {
		if len(levels) > 0 {
			c.riskLevels = append(c.riskLevels, newSet(levels, false))
		}
	}
	if d := p.Conditions.Devices; d != nil && d.DeviceFilter != nil && d.DeviceFilter.Rule != "" {
		c.hasDeviceFilter, c.deviceFilterMode = true, d.DeviceFilter.Mode
	}
	if g := p.GrantControls; g != nil {
		c.grantOperator = strings.ToUpper(g.Operator)
		c.grantControls = g.BuiltInControls
		c.authStrength = isJSONObject(g.AuthenticationStrength)
		c.termsOfUse = len(g.TermsOfUse) > 0 || len(g.CustomAuthenticationFactors) > 0
	}
	c.noGrantControl = len(c.grantControls) == 0 && !c.authStrength && !c.termsOfUse
	if c.grantOperator == "" {
		c.grantOperator = "OR"
	}
	if s := p.SessionControls; s != nil && s.SignInFrequency != nil {
		sf := s.SignInFrequency
		enabled := sf.IsEnabled == nil || *sf.IsEnabled
		if enabled {
			f := &signInFrequency{secondaryOnly: sf.AuthenticationType == "secondaryAuthentication"}
			switch {
			case sf.FrequencyInterval == "everyTime":
				f.everyTime = true
			case sf.Value == nil || *sf.Value <= 0:
				return nil, fmt.Errorf("sessionControls.signInFrequency: value required for a timeBased frequency")
			case sf.Type == "hours":
				f.limit = time.Duration(*sf.Value) * time.Hour
			case sf.Type == "days":
				f.limit = time.Duration(*sf.Value) * 24 * time.Hour
			default:
				return nil, fmt.Errorf("sessionControls.signInFrequency.type %q: want hours or days", sf.Type)
			}
			c.sif = f
		}
	}
	return c, nil
}

func isJSONObject(r json.RawMessage) bool {
	return len(r) > 0 && r[0] == '{'
}

// parsedLocation is a named location ready for matching.
type parsedLocation struct {
	trusted          bool
	prefixes         []netip.Prefix
	countries        set
	includeUnknown   bool
	isCountryLocated bool
}

func parseNamedLocation(raw json.RawMessage) (parsedLocation, error) {
	var nl struct {
		Type      string `json:"@odata.type"`
		IsTrusted bool   `json:"isTrusted"`
		IPRanges  []struct {
			CIDR string `json:"cidrAddress"`
		} `json:"ipRanges"`
		Countries      []string `json:"countriesAndRegions"`
		IncludeUnknown bool     `json:"includeUnknownCountriesAndRegions"`
	}
	if err := json.Unmarshal(raw, &nl); err != nil {
		return parsedLocation{}, err
	}
	out := parsedLocation{trusted: nl.IsTrusted}
	switch nl.Type {
	case "#microsoft.graph.ipNamedLocation":
		for _, r := range nl.IPRanges {
			p, err := netip.ParsePrefix(r.CIDR)
			if err != nil {
				return out, fmt.Errorf("ipRanges: %q is not a CIDR address", r.CIDR)
			}
			out.prefixes = append(out.prefixes, p.Masked())
		}
	case "#microsoft.graph.countryNamedLocation":
		out.isCountryLocated = true
		out.countries = newSet(nl.Countries, true)
		out.includeUnknown = nl.IncludeUnknown
	default:
		return out, fmt.Errorf("@odata.type %q: want #microsoft.graph.ipNamedLocation or #microsoft.graph.countryNamedLocation", nl.Type)
	}
	return out, nil
}

// contains reports whether a client at ip in country (ISO code, "" when
// unknown) is inside the location.
func (l parsedLocation) contains(ip netip.Addr, country string) bool {
	if l.isCountryLocated {
		if country == "" {
			return l.includeUnknown
		}
		return l.countries[strings.ToLower(country)]
	}
	for _, p := range l.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
