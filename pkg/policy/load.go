package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Skipped is an input that was not loaded, with the reason in plain words.
// Nothing is ever dropped silently: administrators hand us directories of
// exports and need to know which file was ignored and why.
type Skipped struct {
	Source string `json:"source"`
	Reason string `json:"reason"`
}

func (s Skipped) String() string { return s.Source + ": " + s.Reason }

// Loaded is what a set of inputs yielded.
type Loaded struct {
	Policies  []Policy
	Locations []NamedLocation
	Skipped   []Skipped
}

func (l *Loaded) merge(o Loaded) {
	l.Policies = append(l.Policies, o.Policies...)
	l.Locations = append(l.Locations, o.Locations...)
	l.Skipped = append(l.Skipped, o.Skipped...)
}

func (l *Loaded) skip(src, format string, args ...any) {
	l.Skipped = append(l.Skipped, Skipped{Source: src, Reason: fmt.Sprintf(format, args...)})
}

// LoadPaths loads every file named, and every file under every directory
// named (recursively, in name order). Files inside directories whose names do
// not end in .json are reported as skipped. The error is only for a path
// that cannot be read at all; bad content is reported in Skipped.
func LoadPaths(paths ...string) (Loaded, error) {
	var out Loaded
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return out, err
		}
		if !info.IsDir() {
			out.merge(loadFile(p))
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			if !strings.EqualFold(filepath.Ext(path), ".json") {
				out.skip(path, "not a .json file")
				return nil
			}
			files = append(files, path)
			return nil
		})
		if err != nil {
			return out, err
		}
		sort.Strings(files)
		for _, f := range files {
			out.merge(loadFile(f))
		}
	}
	out.dedupe()
	return out, nil
}

// dedupe keeps the first policy or named location of each id: a directory
// often holds both a full list export and single-policy exports.
func (l *Loaded) dedupe() {
	seen := map[string]string{}
	kept := l.Policies[:0]
	for _, p := range l.Policies {
		k := strings.ToLower(p.ID)
		if first, dup := seen[k]; dup && k != "" {
			l.skip(p.Source, "duplicate of policy %s loaded from %s", p.ID, first)
			continue
		}
		seen[k] = p.Source
		kept = append(kept, p)
	}
	l.Policies = kept
	seenLoc := map[string]string{}
	keptLoc := l.Locations[:0]
	for _, nl := range l.Locations {
		k := strings.ToLower(nl.ID)
		if first, dup := seenLoc[k]; dup {
			l.skip(nl.Source, "duplicate of named location %s loaded from %s", nl.ID, first)
			continue
		}
		seenLoc[k] = nl.Source
		keptLoc = append(keptLoc, nl)
	}
	l.Locations = keptLoc
}

func loadFile(path string) Loaded {
	b, err := os.ReadFile(path)
	if err != nil {
		var l Loaded
		l.skip(path, "cannot read: %v", err)
		return l
	}
	return LoadBytes(path, b)
}

// LoadBytes decodes one document: a policy or named location object, a
// Graph collection {"value":[...]}, or a bare JSON array (PowerShell's
// ConvertTo-Json of a list). name is used in Source and in skip reasons.
func LoadBytes(name string, b []byte) Loaded {
	var out Loaded
	text, err := DecodeText(b)
	if err != nil {
		out.skip(name, "%v", err)
		return out
	}
	text = bytes.TrimSpace(text)
	if len(text) == 0 {
		out.skip(name, "empty file")
		return out
	}
	if !json.Valid(text) {
		var v any
		err := json.Unmarshal(text, &v)
		out.skip(name, "not valid JSON: %v", err)
		return out
	}
	switch text[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(text, &items); err != nil {
			out.skip(name, "not a JSON array of objects: %v", err)
			return out
		}
		out.loadItems(name, items)
	case '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(text, &obj); err != nil {
			out.skip(name, "not a JSON object: %v", err)
			return out
		}
		if v, ok := lookupFold(obj, "value"); ok && classify(obj) == kindOther {
			var items []json.RawMessage
			if err := json.Unmarshal(v, &items); err != nil {
				out.skip(name, `"value" is not an array: %v`, err)
				return out
			}
			out.loadItems(name, items)
			return out
		}
		out.loadObject(name, text, obj)
	default:
		out.skip(name, "JSON document is neither an object nor an array")
	}
	out.dedupe()
	return out
}

func (l *Loaded) loadItems(name string, items []json.RawMessage) {
	if len(items) == 0 {
		l.skip(name, "empty list: no policies or named locations")
		return
	}
	for i, it := range items {
		src := fmt.Sprintf("%s[%d]", name, i)
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(it, &obj); err != nil {
			l.skip(src, "list element is not a JSON object")
			continue
		}
		l.loadObject(src, it, obj)
	}
}

// loadObject decides what one object is and decodes it.
func (l *Loaded) loadObject(src string, raw []byte, obj map[string]json.RawMessage) {
	switch classify(obj) {
	case kindPolicy:
		var p Policy
		if err := json.Unmarshal(raw, &p); err != nil {
			l.skip(src, "conditional access policy cannot be decoded: %s", explainDecodeError(raw, err))
			return
		}
		if p.ID == "" && p.DisplayName == "" {
			l.skip(src, "conditional access policy has neither id nor displayName")
			return
		}
		p.Raw = append(json.RawMessage(nil), raw...)
		p.Source = src
		l.Policies = append(l.Policies, p)
	case kindLocation:
		var nl NamedLocation
		if err := json.Unmarshal(raw, &nl); err != nil {
			l.skip(src, "named location cannot be decoded: %s", explainDecodeError(raw, err))
			return
		}
		if nl.ID == "" {
			l.skip(src, "named location %q has no id, so no policy can refer to it", nl.DisplayName)
			return
		}
		nl.Kind = locationKind(nl, obj)
		nl.Source = src
		l.Locations = append(l.Locations, nl)
	default:
		l.skip(src, "not a Conditional Access policy or named location (%s)", describeKeys(obj))
	}
}

type objectKind int

const (
	kindOther objectKind = iota
	kindPolicy
	kindLocation
)

func classify(obj map[string]json.RawMessage) objectKind {
	if t, ok := lookupFold(obj, "@odata.type"); ok {
		var s string
		_ = json.Unmarshal(t, &s)
		ls := strings.ToLower(s)
		switch {
		case strings.HasSuffix(ls, "conditionalaccesspolicy"):
			return kindPolicy
		case strings.HasSuffix(ls, "ipnamedlocation"), strings.HasSuffix(ls, "countrynamedlocation"):
			return kindLocation
		}
	}
	for _, k := range []string{"conditions", "grantControls", "sessionControls"} {
		if _, ok := lookupFold(obj, k); ok {
			return kindPolicy
		}
	}
	for _, k := range []string{"ipRanges", "countriesAndRegions"} {
		if _, ok := lookupFold(obj, k); ok {
			return kindLocation
		}
	}
	return kindOther
}

func locationKind(nl NamedLocation, obj map[string]json.RawMessage) LocationKind {
	t := strings.ToLower(nl.ODataType)
	switch {
	case strings.HasSuffix(t, "countrynamedlocation"):
		return LocationCountry
	case strings.HasSuffix(t, "ipnamedlocation"):
		return LocationIP
	}
	if _, ok := lookupFold(obj, "countriesAndRegions"); ok {
		return LocationCountry
	}
	return LocationIP
}

// lookupFold finds a key ignoring case, as encoding/json does when decoding:
// PowerShell SDK exports use PascalCase (DisplayName, Conditions).
func lookupFold(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := obj[key]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func describeKeys(obj map[string]json.RawMessage) string {
	if len(obj) == 0 {
		return "empty object"
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > 6 {
		keys = append(keys[:6], "...")
	}
	return "no conditions, grantControls, ipRanges or countriesAndRegions; keys: " + strings.Join(keys, ", ")
}

// explainDecodeError turns a type mismatch into advice when it comes from
// PowerShell's ConvertTo-Json default depth of 2, which writes nested
// objects as their .NET type names.
func explainDecodeError(raw []byte, err error) string {
	var te *json.UnmarshalTypeError
	if bytes.Contains(raw, []byte("Microsoft.Graph.PowerShell.Models.")) ||
		bytes.Contains(raw, []byte("System.Collections.Hashtable")) {
		return "nested objects were written as .NET type names (PowerShell ConvertTo-Json depth too small); re-export with ConvertTo-Json -Depth 10"
	}
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("field %s: expected %s, found JSON %s", te.Field, te.Type, te.Value)
	}
	return err.Error()
}
