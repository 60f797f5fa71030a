package policy

import (
	"fmt"
	"net/netip"
	"strings"
)

// Special values of conditions.locations.
const (
	locationAll        = "All"
	locationAllTrusted = "AllTrusted"
	// mfaTrustedIPsID is how Graph names the legacy "MFA trusted IPs" of
	// the per-user MFA service settings; their ranges cannot be read
	// through Graph.
	mfaTrustedIPsID = "00000000-0000-0000-0000-000000000000"
)

// compiledLocation is a named location with its ranges parsed once.
type compiledLocation struct {
	loc       *NamedLocation
	name      string // "named location 'X' (id)", built once
	prefixes  []netip.Prefix
	badRanges []string
}

func compileLocations(locs []NamedLocation) map[string]*compiledLocation {
	out := make(map[string]*compiledLocation, len(locs))
	for i := range locs {
		l := &locs[i]
		c := &compiledLocation{loc: l, name: fmt.Sprintf("named location '%s' (%s)", l.DisplayName, l.ID)}
		for _, r := range l.IPRanges {
			p, err := netip.ParsePrefix(strings.TrimSpace(r.CIDRAddress))
			if err != nil {
				c.badRanges = append(c.badRanges, r.CIDRAddress)
				continue
			}
			c.prefixes = append(c.prefixes, p.Masked())
		}
		out[strings.ToLower(l.ID)] = c
	}
	return out
}

// locCtx is the subject's network position, parsed once per evaluation.
type locCtx struct {
	ip      netip.Addr
	ipKnown bool
	ipText  string
	country string
}

func newLocCtx(s *Subject) locCtx {
	c := locCtx{ipText: strings.TrimSpace(s.IP), country: strings.ToUpper(strings.TrimSpace(s.Country))}
	if a, err := netip.ParseAddr(c.ipText); err == nil {
		c.ip, c.ipKnown = a.Unmap(), true
		c.ipText = c.ip.String()
	}
	return c
}

func (c *compiledLocation) label() string { return c.name }

// contains says whether the subject is in this named location.
func (c *compiledLocation) contains(lc *locCtx) (Tri, string) {
	if c.loc.Kind == LocationCountry {
		if strings.EqualFold(c.loc.CountryLookupMethod, "authenticatorAppGps") {
			return Unknown, c.label() + " locates by Authenticator GPS, which a server cannot provide"
		}
		if lc.country == "" {
			return Unknown, c.label() + " is country-based and the country of the egress IP is not known"
		}
		if c.loc.CountriesAndRegions.hasFold(lc.country) {
			return True, fmt.Sprintf("country %s is in %s", lc.country, c.label())
		}
		return False, fmt.Sprintf("country %s is not in %s", lc.country, c.label())
	}
	if !lc.ipKnown {
		if lc.ipText != "" {
			return Unknown, fmt.Sprintf("IP %q is not an IP address, so %s cannot be checked", lc.ipText, c.label())
		}
		return Unknown, c.label() + " is IP-based and the egress IP is not known"
	}
	for _, p := range c.prefixes {
		if p.Contains(lc.ip) {
			return True, "IP " + lc.ipText + " is in " + c.name + " range " + p.String()
		}
	}
	if len(c.badRanges) > 0 {
		return Unknown, fmt.Sprintf("IP %s is not in the readable ranges of %s, which also has unreadable ranges %s", lc.ip, c.label(), strings.Join(c.badRanges, ", "))
	}
	return False, "IP " + lc.ipText + " is not in " + c.name
}

// inLocation resolves one entry of includeLocations/excludeLocations.
func (e *Engine) inLocation(id string, lc *locCtx) (Tri, string) {
	switch {
	case strings.EqualFold(id, locationAll):
		return True, "any location"
	case strings.EqualFold(id, locationAllTrusted):
		return e.inTrusted(lc)
	case id == mfaTrustedIPsID:
		return Unknown, "legacy MFA trusted IPs cannot be read through Graph"
	}
	c, ok := e.locations[strings.ToLower(id)]
	if !ok {
		return Unknown, "named location " + id + " not found"
	}
	return c.contains(lc)
}

// inTrusted checks every trusted IP named location. Assumption: the legacy
// "MFA trusted IPs" (which Entra also counts as trusted) are not configured,
// because Graph cannot read them; the reason says so.
func (e *Engine) inTrusted(lc *locCtx) (Tri, string) {
	if !lc.ipKnown {
		if lc.ipText != "" {
			return Unknown, fmt.Sprintf("IP %q is not an IP address, so trusted locations cannot be checked", lc.ipText)
		}
		return Unknown, "trusted locations are IP-based and the egress IP is not known"
	}
	unknown := ""
	for _, c := range e.locationList {
		if !c.loc.IsTrusted {
			continue
		}
		t, why := c.contains(lc)
		if t == True {
			return True, why + ", which is trusted"
		}
		if t == Unknown && unknown == "" {
			unknown = why
		}
	}
	if unknown != "" {
		return Unknown, unknown
	}
	return False, fmt.Sprintf("IP %s is in no trusted named location (legacy MFA trusted IPs are not readable and assumed absent)", lc.ip)
}

// locationCondition evaluates conditions.locations: included by any entry
// and not excluded by any.
func (e *Engine) locationCondition(l *LocationsCondition, lc *locCtx) (Tri, string) {
	if l == nil || (len(l.IncludeLocations) == 0 && len(l.ExcludeLocations) == 0) {
		return True, ""
	}
	inc, incWhy := True, "any location"
	if len(l.IncludeLocations) > 0 {
		inc, incWhy = e.anyLocation(l.IncludeLocations, lc)
	}
	if inc == False {
		return False, "location not included: " + incWhy
	}
	exc, excWhy := e.anyLocation(l.ExcludeLocations, lc)
	switch {
	case exc == True:
		return False, "location excluded: " + excWhy
	case exc == Unknown:
		return Unknown, "location condition unknown: " + excWhy
	case inc == Unknown:
		return Unknown, "location condition unknown: " + incWhy
	case len(l.ExcludeLocations) > 0:
		return True, "location included (" + incWhy + ") and not excluded: " + excWhy
	}
	return True, "location included: " + incWhy
}

func (e *Engine) anyLocation(ids []string, lc *locCtx) (Tri, string) {
	res, first := False, ""
	var unknown string
	for _, id := range ids {
		t, why := e.inLocation(id, lc)
		switch t {
		case True:
			return True, why
		case Unknown:
			res = Unknown
			if unknown == "" {
				unknown = why
			}
		default:
			if first == "" {
				first = why
			}
		}
	}
	if res == Unknown {
		return Unknown, unknown
	}
	return False, first
}
