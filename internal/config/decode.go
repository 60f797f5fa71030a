package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// The strict decoder walks the parsed YAML tree against the Go types by
// reflection instead of calling yaml.Unmarshal with KnownFields: that
// option stops at the first unknown key and gives no field path, and one
// bad value aborts the whole decode. Walking ourselves reports every
// unknown key and every bad value, each with its field path and line, and
// records the line of every path so that later validation can cite it.
//
// Scalars are still converted by the yaml library (node.Decode), one leaf
// at a time, so YAML scalar semantics (quoting, booleans, numbers) are the
// library's and custom unmarshalers (Duration, Secret) are honoured.

// defaultMaxNodes bounds the work on one file, so that a small file with
// nested aliases ("billion laughs") cannot make the agent spin. A tenant
// takes about 10 nodes, so this allows some 25,000 tenants in one file.
const defaultMaxNodes = 1 << 18

type decoder struct {
	src      *source
	ps       *problems
	budget   int
	limit    int
	inAlias  map[*yaml.Node]bool
	exceeded bool
}

func newDecoder(src *source, ps *problems, maxNodes int) *decoder {
	return &decoder{src: src, ps: ps, budget: maxNodes, limit: maxNodes, inAlias: map[*yaml.Node]bool{}}
}

var (
	unmarshalerType     = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decode fills v (addressable) from n. Values absent from the YAML keep
// what v already holds, which is how defaults survive.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if d.budget--; d.budget < 0 {
		if !d.exceeded {
			d.exceeded = true
			d.ps.addAt(d.src, n.Line, path, fmt.Sprintf("document too large (more than %d values after expanding aliases); split tenants into tenants_dir files", d.limit))
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		d.alias(n, v, path)
		return
	}
	if isNull(n) {
		return // "key:" with no value keeps the default
	}
	t := v.Type()
	pt := reflect.PointerTo(t)
	switch {
	case pt.Implements(unmarshalerType) && t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		d.customStruct(n, v, path)
	case pt.Implements(unmarshalerType) || pt.Implements(textUnmarshalerType):
		d.leaf(n, v, path)
	case t.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, v.Elem(), path)
	case t.Kind() == reflect.Struct:
		d.mapping(n, v, path)
	case t.Kind() == reflect.Slice:
		d.sequence(n, v, path)
	case t.Kind() == reflect.Map:
		d.stringMap(n, v, path)
	default:
		d.leaf(n, v, path)
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func (d *decoder) alias(n *yaml.Node, v reflect.Value, path string) {
	target := n.Alias
	if target == nil {
		return
	}
	if d.inAlias[target] {
		d.ps.addAt(d.src, n.Line, path, fmt.Sprintf("alias *%s refers to a value that contains it", n.Value))
		return
	}
	d.inAlias[target] = true
	d.decode(target, v, path)
	delete(d.inAlias, target)
}

// resolveAlias follows aliases to the node they name.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// leaf converts one scalar with the yaml library and reports a failure in
// plain words. The offending value is quoted: only non-secret fields can
// fail, because a Secret accepts any scalar.
func (d *decoder) leaf(n *yaml.Node, v reflect.Value, path string) {
	custom := reflect.PointerTo(v.Type()).Implements(unmarshalerType)
	if n.Kind != yaml.ScalarNode && !custom {
		d.fail(path, "expected %s, got %s", describeType(v.Type()), describeNode(n))
		return
	}
	if v.Kind() == reflect.String && !custom && !reflect.PointerTo(v.Type()).Implements(textUnmarshalerType) &&
		n.Kind == yaml.ScalarNode && n.Tag != "!!binary" {
		v.SetString(n.Value) // what the library does for strings, without a decoder per leaf
		return
	}
	tmp := reflect.New(v.Type())
	tmp.Elem().Set(v)
	if err := n.Decode(tmp.Interface()); err != nil {
		if _, isType := err.(*yaml.TypeError); isType || !custom {
			d.fail(path, "expected %s, got %s", describeType(v.Type()), describeNode(n))
		} else {
			d.fail(path, "%s", err.Error())
		}
		return
	}
	v.Set(tmp.Elem())
}

// fail reports a value that could not be decoded; the field keeps its
// default and counts as unset.
func (d *decoder) fail(path, format string, args ...any) {
	delete(d.src.set, path)
	d.ps.add(d.src, path, format, args...)
	d.src.failed[path] = true
}

// customStruct handles a struct type that has its own UnmarshalYAML (an
// integration may apply its defaults that way): the strict walk runs on a
// scratch copy to find unknown keys and record lines, then the type's own
// unmarshaler fills the real value.
func (d *decoder) customStruct(n *yaml.Node, v reflect.Value, path string) {
	before := len(d.ps.list)
	scratch := reflect.New(v.Type()).Elem()
	d.mapping(n, scratch, path)
	if len(d.ps.list) != before {
		return
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		d.ps.add(d.src, path, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
}

// mapping decodes a YAML mapping into a struct, reporting unknown and
// duplicate keys.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, "expected %s, got %s", describeType(v.Type()), describeNode(n))
		return
	}
	fields := fieldsOf(v.Type())
	seen := map[string]int{}
	for _, kv := range d.pairs(n, path) {
		key, val := kv.key, kv.value
		if key.Kind != yaml.ScalarNode {
			d.ps.addAt(d.src, key.Line, path, "mapping keys must be plain names")
			continue
		}
		name := key.Value
		fpath := joinPath(path, name)
		if !kv.merged {
			if first, dup := seen[name]; dup {
				d.ps.addAt(d.src, key.Line, fpath, fmt.Sprintf("duplicate key (first set on line %d)", first))
				continue
			}
			seen[name] = key.Line
		}
		f, ok := fields.byName[name]
		if !ok {
			guess := closest(name, fields.names)
			if guess != "" {
				d.src.misspelt[joinPath(path, guess)] = true
			}
			d.ps.addAt(d.src, key.Line, fpath, unknownFieldMessage(guess, fields.names))
			continue
		}
		d.src.lines[fpath] = key.Line
		if !isNull(resolveAlias(val)) {
			d.src.set[fpath] = true
		}
		d.decode(val, v.FieldByIndex(f.index), fpath)
	}
}

type keyValue struct {
	key, value *yaml.Node
	merged     bool // came from a "<<: *anchor" merge; explicit keys win
}

// pairs lists a mapping's key/value pairs, expanding YAML merge keys
// first so that explicit keys written after them take precedence.
func (d *decoder) pairs(n *yaml.Node, path string) []keyValue {
	var merged, explicit []keyValue
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergeSources(val, path)...)
			continue
		}
		explicit = append(explicit, keyValue{key: k, value: val})
	}
	return append(merged, explicit...)
}

func (d *decoder) mergeSources(val *yaml.Node, path string) []keyValue {
	val = resolveAlias(val)
	var out []keyValue
	switch {
	case val == nil:
	case val.Kind == yaml.MappingNode:
		if d.inAlias[val] {
			d.ps.addAt(d.src, val.Line, path, "a merge key (<<) refers to a mapping that contains it")
			return nil
		}
		d.inAlias[val] = true
		defer delete(d.inAlias, val)
		for _, kv := range d.pairs(val, path) { // the merged mapping may merge others
			if d.budget--; d.budget < 0 {
				return out
			}
			kv.merged = true
			out = append(out, kv)
		}
	case val.Kind == yaml.SequenceNode:
		for _, item := range val.Content {
			if item = resolveAlias(item); item != nil && item.Kind == yaml.MappingNode {
				out = append(out, d.mergeSources(item, path)...)
			} else if item != nil {
				d.ps.addAt(d.src, item.Line, path, "a merge key (<<) takes a mapping or a list of mappings")
			}
		}
	default:
		d.ps.addAt(d.src, val.Line, path, "a merge key (<<) takes a mapping or a list of mappings")
	}
	return out
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(path, "expected %s, got %s", describeType(v.Type()), describeNode(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		ipath := indexPath(path, i)
		d.src.lines[ipath] = item.Line
		d.src.set[ipath] = true
		d.decode(item, out.Index(i), ipath)
	}
	v.Set(out)
}

func (d *decoder) stringMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode || v.Type().Key().Kind() != reflect.String {
		d.fail(path, "expected %s, got %s", describeType(v.Type()), describeNode(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	for _, kv := range d.pairs(n, path) {
		if kv.key.Kind != yaml.ScalarNode {
			d.ps.addAt(d.src, kv.key.Line, path, "mapping keys must be plain names")
			continue
		}
		kpath := joinPath(path, kv.key.Value)
		d.src.lines[kpath] = kv.key.Line
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(kv.value, elem, kpath)
		v.SetMapIndex(reflect.ValueOf(kv.key.Value).Convert(v.Type().Key()), elem)
	}
}

// structFields maps YAML key names to struct fields, following yaml tags
// the way the yaml library does (",inline" embeds, "-" skips).
type structFields struct {
	byName map[string]fieldRef
	names  []string
}

type fieldRef struct{ index []int }

var fieldCache sync.Map // reflect.Type -> *structFields

func fieldsOf(t reflect.Type) *structFields {
	if c, ok := fieldCache.Load(t); ok {
		return c.(*structFields)
	}
	sf := &structFields{byName: map[string]fieldRef{}}
	collectFields(t, nil, sf)
	fieldCache.Store(t, sf)
	return sf
}

func collectFields(t reflect.Type, prefix []int, sf *structFields) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, inline := yamlName(f)
		if !f.IsExported() && !(f.Anonymous && inline) {
			continue // an embedded struct's exported fields are settable even if its type is not
		}
		index := append(append([]int(nil), prefix...), i)
		switch {
		case name == "-":
		case inline && f.Type.Kind() == reflect.Struct:
			collectFields(f.Type, index, sf)
		default:
			sf.byName[name] = fieldRef{index: index}
			sf.names = append(sf.names, name)
		}
	}
}

// yamlName returns the key a struct field is read from.
func yamlName(f reflect.StructField) (name string, inline bool) {
	tag := f.Tag.Get("yaml")
	name, opts, _ := strings.Cut(tag, ",")
	inline = strings.Contains(","+opts+",", ",inline,")
	if name == "" && !inline {
		name = strings.ToLower(f.Name)
	}
	return name, inline
}

func describeType(t reflect.Type) string {
	if t == reflect.TypeFor[time.Duration]() {
		return "a duration such as 10s"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		if reflect.PointerTo(t).Implements(textUnmarshalerType) {
			return "a string"
		}
		return "a mapping"
	case reflect.Pointer:
		return describeType(t.Elem())
	}
	return "a " + t.String()
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return fmt.Sprintf("%q", v)
	}
	return "nothing"
}
