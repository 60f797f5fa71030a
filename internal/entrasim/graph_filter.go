package entrasim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The OData $filter subset Graph accepts on auditLogs/signIns:
//
//	expr    = and { "or" and }
//	and     = unary { "and" unary }
//	unary   = "not" unary | "(" expr ")" | compare | any | startswith
//	compare = property op literal         op: eq ne gt ge lt le
//	any     = "signInEventTypes/any(" var ":" lambda ")"
//
// Literals are 'strings' ('' escapes a quote), unquoted date-times
// (2026-01-05T09:00:00Z), integers, true and false.

// signInPredicate decides whether a record matches; ev is the record's
// event type when inside an any() lambda.
type signInPredicate func(s *SignIn, ev string) bool

// filterResult is a compiled filter.
type filterResult struct {
	match signInPredicate
	// eventTypes is true when the filter mentions signInEventTypes; beta
	// returns interactive sign-ins only unless it does.
	eventTypes bool
}

type filterParser struct {
	toks   []string
	pos    int
	beta   bool
	lambda string // the any() variable in scope
	usedEv bool
}

// parseSignInFilter compiles a $filter for the v1.0 (beta false) or beta
// signIn type. Errors name the offending clause.
func parseSignInFilter(src string, beta bool) (filterResult, error) {
	toks, err := lexFilter(src)
	if err != nil {
		return filterResult{}, err
	}
	p := &filterParser{toks: toks, beta: beta}
	m, err := p.expr()
	if err != nil {
		return filterResult{}, err
	}
	if p.pos < len(p.toks) {
		return filterResult{}, fmt.Errorf("unexpected '%s'", p.toks[p.pos])
	}
	return filterResult{match: m, eventTypes: p.usedEv}, nil
}

func lexFilter(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')' || c == ',' || c == ':':
			toks = append(toks, string(c))
			i++
		case c == '\'':
			var b strings.Builder
			b.WriteByte('\'')
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string literal")
			}
			toks = append(toks, b.String())
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t(),'", rune(s[j])) && !(s[j] == ':' && !isDigitRun(s[i:j])) {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("unexpected character %q", c)
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

// isDigitRun reports whether a token so far looks like a date-time, where
// ':' belongs to the literal rather than separating a lambda variable.
func isDigitRun(s string) bool { return len(s) > 0 && s[0] >= '0' && s[0] <= '9' }

func (p *filterParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *filterParser) next() string {
	t := p.peek()
	p.pos++
	return t
}

func (p *filterParser) expect(t string) error {
	if got := p.next(); got != t {
		return fmt.Errorf("expected '%s' but found '%s'", t, got)
	}
	return nil
}

func (p *filterParser) expr() (signInPredicate, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "or") {
		p.next()
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(s *SignIn, ev string) bool { return l(s, ev) || right(s, ev) }
	}
	return left, nil
}

func (p *filterParser) and() (signInPredicate, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "and") {
		p.next()
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(s *SignIn, ev string) bool { return l(s, ev) && right(s, ev) }
	}
	return left, nil
}

func (p *filterParser) unary() (signInPredicate, error) {
	t := p.next()
	switch {
	case t == "":
		return nil, fmt.Errorf("unexpected end of filter")
	case strings.EqualFold(t, "not"):
		inner, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(s *SignIn, ev string) bool { return !inner(s, ev) }, nil
	case t == "(":
		inner, err := p.expr()
		if err != nil {
			return nil, err
		}
		return inner, p.expect(")")
	case strings.EqualFold(t, "startswith"):
		return p.startsWith()
	case strings.EqualFold(t, "signInEventTypes/any"):
		return p.anyEventType()
	}
	return p.compare(t)
}

func (p *filterParser) startsWith() (signInPredicate, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	prop := p.next()
	get, ok := stringProperty(prop)
	if !ok {
		return nil, fmt.Errorf("startswith is not supported on property '%s'", prop)
	}
	if err := p.expect(","); err != nil {
		return nil, err
	}
	lit := p.next()
	if !strings.HasPrefix(lit, "'") {
		return nil, fmt.Errorf("startswith needs a string literal, found '%s'", lit)
	}
	prefix := strings.ToLower(lit[1:])
	return func(s *SignIn, _ string) bool { return strings.HasPrefix(strings.ToLower(get(s)), prefix) }, p.expect(")")
}

func (p *filterParser) anyEventType() (signInPredicate, error) {
	if !p.beta {
		return nil, fmt.Errorf("could not find a property named 'signInEventTypes' on type 'microsoft.graph.signIn'")
	}
	if p.lambda != "" {
		return nil, fmt.Errorf("nested any() is not supported")
	}
	p.usedEv = true
	if err := p.expect("("); err != nil {
		return nil, err
	}
	v := p.next()
	if err := p.expect(":"); err != nil {
		return nil, err
	}
	p.lambda = v
	body, err := p.expr()
	p.lambda = ""
	if err != nil {
		return nil, err
	}
	return func(s *SignIn, _ string) bool {
		for _, ev := range eventTypesOf(s) {
			if body(s, ev) {
				return true
			}
		}
		return false
	}, p.expect(")")
}

// eventTypesOf is the record's signInEventTypes, derived from isInteractive
// when the record does not carry them.
func eventTypesOf(s *SignIn) []string {
	if len(s.SignInEventTypes) > 0 {
		return s.SignInEventTypes
	}
	if s.IsInteractive {
		return []string{"interactiveUser"}
	}
	return []string{"nonInteractiveUser"}
}

func stringProperty(name string) (func(*SignIn) string, bool) {
	switch strings.ToLower(name) {
	case "id":
		return func(s *SignIn) string { return s.ID }, true
	case "userid":
		return func(s *SignIn) string { return s.UserID }, true
	case "appid":
		return func(s *SignIn) string { return s.AppID }, true
	case "userprincipalname":
		return func(s *SignIn) string { return s.UserPrincipalName }, true
	case "ipaddress":
		return func(s *SignIn) string { return s.IPAddress }, true
	case "conditionalaccessstatus":
		return func(s *SignIn) string { return s.ConditionalAccessStatus }, true
	case "correlationid":
		return func(s *SignIn) string { return s.CorrelationID }, true
	case "resourceid":
		return func(s *SignIn) string { return s.ResourceID }, true
	case "appdisplayname":
		return func(s *SignIn) string { return s.AppDisplayName }, true
	}
	return nil, false
}

func (p *filterParser) compare(prop string) (signInPredicate, error) {
	op := strings.ToLower(p.next())
	switch op {
	case "eq", "ne", "gt", "ge", "lt", "le":
	default:
		return nil, fmt.Errorf("expected a comparison operator after '%s' but found '%s'", prop, op)
	}
	lit := p.next()
	if lit == "" {
		return nil, fmt.Errorf("missing value after '%s %s'", prop, op)
	}
	cmp := func(c int) bool {
		switch op {
		case "eq":
			return c == 0
		case "ne":
			return c != 0
		case "gt":
			return c > 0
		case "ge":
			return c >= 0
		case "lt":
			return c < 0
		}
		return c <= 0
	}
	if p.lambda != "" && prop == p.lambda {
		if !strings.HasPrefix(lit, "'") || (op != "eq" && op != "ne") {
			return nil, fmt.Errorf("'%s' compares only with eq or ne and a string", prop)
		}
		want := lit[1:]
		return func(_ *SignIn, ev string) bool { return cmp(strings.Compare(ev, want)) }, nil
	}
	if get, ok := stringProperty(prop); ok {
		if !strings.HasPrefix(lit, "'") {
			return nil, fmt.Errorf("property '%s' needs a string literal, found '%s'", prop, lit)
		}
		want := strings.ToLower(lit[1:])
		return func(s *SignIn, _ string) bool { return cmp(strings.Compare(strings.ToLower(get(s)), want)) }, nil
	}
	switch strings.ToLower(prop) {
	case "createddatetime":
		t, err := time.Parse(time.RFC3339Nano, lit)
		if err != nil {
			return nil, fmt.Errorf("createdDateTime needs an unquoted date-time like 2026-01-05T09:00:00Z, found '%s'", lit)
		}
		return func(s *SignIn, _ string) bool { return cmp(s.CreatedDateTime.Compare(t)) }, nil
	case "status/errorcode":
		n, err := strconv.Atoi(lit)
		if err != nil {
			return nil, fmt.Errorf("status/errorCode needs an integer, found '%s'", lit)
		}
		return func(s *SignIn, _ string) bool { return cmp(s.Status.ErrorCode - n) }, nil
	case "isinteractive":
		b, err := strconv.ParseBool(lit)
		if err != nil || (op != "eq" && op != "ne") {
			return nil, fmt.Errorf("isInteractive compares with eq or ne and true or false")
		}
		return func(s *SignIn, _ string) bool { return (s.IsInteractive == b) == (op == "eq") }, nil
	}
	return nil, fmt.Errorf("could not find a property named '%s' on type 'microsoft.graph.signIn'", prop)
}
