package config

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

var receiverNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// validateReceivers checks names and integrations and returns the set of
// receiver names for the route check.
func (l *loader) validateReceivers(receivers []Receiver, src *source) map[string]bool {
	names := map[string]bool{}
	firstLine := map[string]int{}
	for i := range receivers {
		r := &receivers[i]
		p := indexPath("receivers", i)
		switch {
		case r.Name == "":
			l.required(src, p+".name", "required (routes refer to receivers by name)")
		case !receiverNameRE.MatchString(r.Name):
			l.ps.add(src, p+".name", "%q may contain only letters, digits, '.', '_' and '-'", r.Name)
		case names[r.Name]:
			l.ps.add(src, p+".name", "duplicate receiver name %q (first defined on line %d)", r.Name, firstLine[r.Name])
		default:
			names[r.Name] = true
			firstLine[r.Name] = src.lineOf(p + ".name")
		}
		ins := r.integrations()
		switch len(ins) {
		case 0:
			l.ps.add(src, p, "no integration: set exactly one of %s", strings.Join(integrationKeys(), ", "))
		case 1:
			l.integrationProblems(src, p+"."+ins[0].key, ins[0].value)
		default:
			keys := make([]string, len(ins))
			for j, in := range ins {
				keys[j] = in.key
			}
			l.ps.add(src, p+"."+keys[1], "a receiver has exactly one integration, this one has %s; split it into one receiver each", strings.Join(keys, " and "))
		}
	}
	return names
}

// integrationProblems runs the integration's own Validate and files each
// error under the field path it names.
func (l *loader) integrationProblems(src *source, path string, v reflect.Value) {
	val, ok := withoutHandledTwins(v).Interface().(integrationValidator)
	if !ok {
		return
	}
	for _, err := range val.Validate(path) {
		msg := err.Error()
		field, rest, found := strings.Cut(msg, ": ")
		if found && (field == path || strings.HasPrefix(field, path+".") || strings.HasPrefix(field, path+"[")) {
			l.ps.add(src, field, "%s", rest)
		} else {
			l.ps.add(src, path, "%s", msg)
		}
	}
}

func (l *loader) validateRoutes(routes []Route, receivers map[string]bool, src *source) {
	for i := range routes {
		r := &routes[i]
		p := indexPath("routes", i)
		switch {
		case r.Receiver == "":
			l.required(src, p+".receiver", "required (the name of a receiver)")
		case !receivers[r.Receiver]:
			l.ps.add(src, p+".receiver", "unknown receiver %q%s", r.Receiver, receiverHint(r.Receiver, receivers))
		}
		for j, s := range r.Severities {
			if s.Rank() == 0 {
				l.ps.add(src, indexPath(p+".severities", j), "unknown severity %q (expected one of %s)", s, joinAny(health.Severities()))
			}
		}
		for j, k := range r.Kinds {
			if !contains(health.Kinds(), k) {
				l.ps.add(src, indexPath(p+".kinds", j), "unknown kind %q (expected one of %s)", k, joinAny(health.Kinds()))
			}
		}
		for j, tag := range r.Tags {
			if strings.TrimSpace(tag) == "" {
				l.ps.add(src, indexPath(p+".tags", j), "empty tag")
			}
		}
	}
}

// receiverHint suggests the closest receiver name, or lists them all.
func receiverHint(name string, receivers map[string]bool) string {
	known := make([]string, 0, len(receivers))
	for n := range receivers {
		known = append(known, n)
	}
	sort.Strings(known)
	if s := closest(name, known); s != "" {
		return fmt.Sprintf(" (did you mean %s?)", s)
	}
	if len(known) == 0 {
		return " (no receivers are defined)"
	}
	return fmt.Sprintf(" (defined: %s)", strings.Join(known, ", "))
}

func joinAny[T ~string](list []T) string {
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
