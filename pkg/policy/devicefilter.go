package policy

import (
	"fmt"
	"strings"
)

// A device filter rule ("device.trustType -ne \"AzureAD\" -and ...") is
// evaluated for the platform server, which has no device registered in
// Entra ID. Microsoft documents the outcome (concept-condition-filters-for-
// devices.md, "Policy behavior with filter for devices"): for an
// unregistered device every device property is null, rules with positive
// operators (Equals, StartsWith, EndsWith, Contains, In) do not match, and
// rules with negative operators (NotEquals, NotStartsWith, NotEndsWith,
// NotContains, NotIn) do. Combinations follow boolean algebra on those
// per-comparison results.

type ruleNode interface {
	// matchUnregistered evaluates the rule with every property null.
	matchUnregistered() bool
}

type ruleAnd struct{ l, r ruleNode }
type ruleOr struct{ l, r ruleNode }
type ruleNot struct{ x ruleNode }
type ruleCmp struct {
	attr     string
	op       string
	negative bool
}

func (n ruleAnd) matchUnregistered() bool { return n.l.matchUnregistered() && n.r.matchUnregistered() }
func (n ruleOr) matchUnregistered() bool  { return n.l.matchUnregistered() || n.r.matchUnregistered() }
func (n ruleNot) matchUnregistered() bool { return !n.x.matchUnregistered() }
func (n ruleCmp) matchUnregistered() bool { return n.negative }

var ruleOperators = map[string]bool{ // operator -> negative
	"-eq": false, "-ne": true,
	"-startswith": false, "-notstartswith": true,
	"-endswith": false, "-notendswith": true,
	"-contains": false, "-notcontains": true,
	"-in": false, "-notin": true,
}

// parseDeviceRule parses the documented rule syntax. An unsupported
// construct is an error, which the evaluator reports as "unknown".
func parseDeviceRule(rule string) (ruleNode, error) {
	toks, err := tokenizeRule(rule)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty rule")
	}
	p := &ruleParser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	return n, nil
}

type ruleParser struct {
	toks []string
	pos  int
}

func (p *ruleParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *ruleParser) next() string {
	t := p.peek()
	if p.pos < len(p.toks) {
		p.pos++
	}
	return t
}

func (p *ruleParser) or() (ruleNode, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "-or") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = ruleOr{l, r}
	}
	return l, nil
}

func (p *ruleParser) and() (ruleNode, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "-and") {
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = ruleAnd{l, r}
	}
	return l, nil
}

func (p *ruleParser) unary() (ruleNode, error) {
	switch t := p.next(); {
	case t == "":
		return nil, fmt.Errorf("rule ends early")
	case strings.EqualFold(t, "-not"):
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return ruleNot{x}, nil
	case t == "(":
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		return x, nil
	default:
		if !strings.HasPrefix(strings.ToLower(t), "device.") {
			return nil, fmt.Errorf("expected device.<property>, found %q", t)
		}
		op := strings.ToLower(p.next())
		neg, ok := ruleOperators[op]
		if !ok {
			return nil, fmt.Errorf("unsupported operator %q", op)
		}
		v := p.next()
		if v == "" || v == ")" || v == "(" {
			return nil, fmt.Errorf("missing value after %s", op)
		}
		return ruleCmp{attr: t, op: op, negative: neg}, nil
	}
}

// tokenizeRule splits a rule into parens, words and values; a quoted string
// or a bracketed list is one token.
func tokenizeRule(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case c == '"' || c == '\'':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated string")
			}
			toks = append(toks, s[i:i+j+2])
			i += j + 2
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unterminated list")
			}
			toks = append(toks, s[i:i+j+1])
			i += j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()\"'[", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}
