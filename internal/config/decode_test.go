package config

import (
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// withDefaults applies its own defaults in UnmarshalYAML, as an integration
// config might; the strict walk must still catch unknown keys inside it.
type withDefaults struct {
	Mode  string `yaml:"mode"`
	Retry int    `yaml:"retry"`
}

func (w *withDefaults) UnmarshalYAML(n *yaml.Node) error {
	type plain withDefaults
	p := plain{Mode: "auto", Retry: 3}
	if err := n.Decode(&p); err != nil {
		return err
	}
	*w = withDefaults(p)
	return nil
}

type embedded struct {
	Shared string `yaml:"shared"`
}

type decodeTarget struct {
	embedded `yaml:",inline"`
	Headers  map[string]string `yaml:"headers"`
	Custom   *withDefaults     `yaml:"custom"`
	Skipped  string            `yaml:"-"`
	Untagged int
}

func decodeForTest(t *testing.T, yml string) (decodeTarget, []Problem) {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(yml), &root); err != nil {
		t.Fatal(err)
	}
	var out decodeTarget
	var ps problems
	newDecoder(newSource("t.yaml", 0), &ps, defaultMaxNodes).decode(root.Content[0], reflect.ValueOf(&out).Elem(), "")
	var list []Problem
	if err := ps.err(); err != nil {
		list = err.(*ValidationError).Problems
	}
	return out, list
}

func TestDecoderShapes(t *testing.T) {
	got, probs := decodeForTest(t, `
shared: s
headers: {X-A: "1", X-B: two}
custom: {retry: 5}
untagged: 4
`)
	want := decodeTarget{
		embedded: embedded{Shared: "s"},
		Headers:  map[string]string{"X-A": "1", "X-B": "two"},
		Custom:   &withDefaults{Mode: "auto", Retry: 5},
		Untagged: 4,
	}
	if len(probs) != 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v %+v, problems %v", got, got.Custom, probs)
	}
}

func TestDecoderProblems(t *testing.T) {
	_, probs := decodeForTest(t, `
custom: {retyr: 5}
headers: [a]
"-": x
skipped: y
`)
	want := []Problem{
		{File: "t.yaml", Line: 2, Path: "custom.retyr", Message: "unknown field (did you mean retry?)"},
		{File: "t.yaml", Line: 3, Path: "headers", Message: "expected a mapping, got a list"},
		{File: "t.yaml", Line: 4, Path: "-", Message: "unknown field (expected one of shared, headers, custom, untagged)"},
		{File: "t.yaml", Line: 5, Path: "skipped", Message: "unknown field (expected one of shared, headers, custom, untagged)"},
	}
	if !reflect.DeepEqual(probs, want) {
		t.Errorf("problems\n got %+v\nwant %+v", probs, want)
	}
}

// A merge key inside the mapping it merges would recurse forever; a value
// that failed to decode is reported once, not again by later checks.
func TestSelfReferencesAndRepeatedProblems(t *testing.T) {
	_, err := newLoader(getenvFrom(nil)).load("c.yaml", []byte(`
global:
  client_app_id: 1b730954-1685-4b74-9bfd-dac224a7b894
tenants: &t
  - <<: &m {id: 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f, <<: *m}
    service_account: svc@contoso.com
    tags: *t
`))
	want := `c.yaml:5: tenants[0]: a merge key (<<) refers to a mapping that contains it
c.yaml:5: tenants[0].tags[0]: expected a string, got a mapping`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}
