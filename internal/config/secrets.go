package config

import (
	"fmt"
	"reflect"

	"github.com/tokenhealth/tokenhealth/internal/secret"
)

// Every secret field x (type secret.Secret) may instead be given as x_file
// (a path read at load, refused when group or others can read it) or
// x_credential (a systemd credential name). The loader finds these triples
// by reflection, so an integration only declares the three fields and
// always reads the resolved Secret.

var secretType = reflect.TypeFor[secret.Secret]()

// secretTriple is one secret field with its twins; file and credential are
// invalid reflect.Values when the struct does not declare that twin.
type secretTriple struct {
	path       string // field path of x, e.g. receivers[0].slack.bot_token
	name       string // x
	value      reflect.Value
	file       reflect.Value
	credential reflect.Value
}

func (t secretTriple) fileName() string       { return twinString(t.file) }
func (t secretTriple) credentialName() string { return twinString(t.credential) }

func twinString(v reflect.Value) string {
	if !v.IsValid() {
		return ""
	}
	return v.String()
}

// sources counts how many of x, x_file, x_credential are set.
func (t secretTriple) sources() int {
	n := 0
	if !t.value.Interface().(secret.Secret).IsZero() {
		n++
	}
	if t.fileName() != "" {
		n++
	}
	if t.credentialName() != "" {
		n++
	}
	return n
}

// forEachSecret calls fn for every secret triple reachable from v
// (through structs, pointers and slices), with field paths under path.
func forEachSecret(v reflect.Value, path string, fn func(secretTriple)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			forEachSecret(v.Elem(), path, fn)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			forEachSecret(v.Index(i), indexPath(path, i), fn)
		}
	case reflect.Struct:
		if v.Type() == secretType {
			return
		}
		t := v.Type()
		fields := fieldsOf(t)
		for _, name := range fields.names {
			f := v.FieldByIndex(fields.byName[name].index)
			if f.Type() != secretType {
				forEachSecret(f, joinPath(path, name), fn)
				continue
			}
			fn(secretTriple{
				path:       joinPath(path, name),
				name:       name,
				value:      f,
				file:       stringTwin(v, fields, name+"_file"),
				credential: stringTwin(v, fields, name+"_credential"),
			})
		}
	}
}

func stringTwin(v reflect.Value, fields *structFields, name string) reflect.Value {
	ref, ok := fields.byName[name]
	if !ok {
		return reflect.Value{}
	}
	f := v.FieldByIndex(ref.index)
	if f.Kind() != reflect.String {
		return reflect.Value{}
	}
	return f
}

// resolveSecrets reads every x_file / x_credential under v (which came
// from src) into x, reporting conflicts and unreadable sources.
func (l *loader) resolveSecrets(src *source, v reflect.Value, path string) {
	forEachSecret(v, path, func(t secretTriple) {
		if t.sources() > 1 {
			line := 0
			for _, p := range []string{t.path, t.path + "_file", t.path + "_credential"} {
				line = max(line, src.lines[p])
			}
			l.ps.addAt(src, line, t.path, fmt.Sprintf("set only one of %s, %s_file, %s_credential", t.name, t.name, t.name))
			return
		}
		switch {
		case t.fileName() != "":
			p := relativeTo(src, t.fileName())
			t.file.SetString(p)
			s, err := secret.ReadFile(p)
			if err != nil {
				l.ps.add(src, t.path+"_file", "%v", err)
				return
			}
			t.value.Set(reflect.ValueOf(s))
		case t.credentialName() != "":
			s, err := secret.ReadCredential(l.getenv("CREDENTIALS_DIRECTORY"), t.credentialName())
			if err != nil {
				l.ps.add(src, t.path+"_credential", "%v", err)
				return
			}
			t.value.Set(reflect.ValueOf(s))
		}
	})
}

// resolveAllSecrets resolves the secrets of every tenant (each from the
// file it came from) and every receiver.
func (l *loader) resolveAllSecrets(cfg *Config, main *source) {
	for i := range cfg.Tenants {
		t := &cfg.Tenants[i]
		_, p := t.Source()
		l.resolveSecrets(t.src, reflect.ValueOf(t).Elem(), p)
	}
	l.resolveSecrets(main, reflect.ValueOf(&cfg.Receivers).Elem(), "receivers")
}

// withoutHandledTwins returns a shallow copy of an integration config in
// which the twins of every secret the loader has resolved (or reported as
// conflicting) are cleared. The integration's own Validate then sees the
// value it will use, and does not repeat the loader's messages.
func withoutHandledTwins(v reflect.Value) reflect.Value {
	cp := reflect.New(v.Type().Elem())
	cp.Elem().Set(v.Elem())
	forEachSecret(cp, "", func(t secretTriple) {
		switch {
		case !t.value.Interface().(secret.Secret).IsZero():
			clearTwin(t.file)
			clearTwin(t.credential)
		case t.sources() > 1: // both twins: keep one so "required" stays quiet
			clearTwin(t.file)
		}
	})
	return cp
}

func clearTwin(v reflect.Value) {
	if v.IsValid() {
		v.SetString("")
	}
}
