package entrasim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf16"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// decodeText returns UTF-8 text from a file that may be UTF-8, UTF-8 with a
// byte order mark, or UTF-16 (LE or BE) with a byte order mark, which is
// what Windows PowerShell's Out-File and ConvertTo-Json | Set-Content write.
// CRLF line ends are left alone: JSON and YAML both accept them.
func decodeText(b []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		b = b[3:]
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return utf16ToUTF8(b[2:], false)
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return utf16ToUTF8(b[2:], true)
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("text is neither UTF-8 nor UTF-16 with a byte order mark")
	}
	return b, nil
}

func utf16ToUTF8(b []byte, bigEndian bool) ([]byte, error) {
	if len(b)%2 != 0 {
		return nil, fmt.Errorf("UTF-16 text has an odd number of bytes")
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
	}
	return []byte(string(utf16.Decode(u))), nil
}

// rawObjects turns one scenario entry into raw Graph JSON objects. The entry
// is an inline object (YAML or JSON syntax), {file: path} naming an export
// on disk, or {json: "<text>"}. Either may hold a single object or a Graph
// collection {"value":[...]}, which is split into its items. Objects read
// from files keep their exact bytes (whitespace aside), so what Graph later
// returns is what was exported.
func rawObjects(n *yaml.Node, baseDir string) ([]json.RawMessage, error) {
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		key, val := n.Content[0].Value, n.Content[1]
		switch key {
		case "file":
			p := val.Value
			if !filepath.IsAbs(p) && baseDir != "" {
				p = filepath.Join(baseDir, p)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			text, err := decodeText(b)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			objs, err := splitCollection(text)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			return objs, nil
		case "json":
			return splitCollection([]byte(val.Value))
		}
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("line %d: cannot express as JSON: %w", n.Line, err)
	}
	return splitCollection(b)
}

// splitCollection accepts a JSON object or a {"value":[...]} collection and
// returns the objects, compacted.
func splitCollection(b []byte) ([]json.RawMessage, error) {
	b = bytes.TrimSpace(b)
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	items := []json.RawMessage{b}
	if v, ok := probe["value"]; ok && bytes.HasPrefix(bytes.TrimSpace(v), []byte("[")) {
		items = nil
		if err := json.Unmarshal(v, &items); err != nil {
			return nil, fmt.Errorf("value: %w", err)
		}
	}
	out := make([]json.RawMessage, 0, len(items))
	for i, it := range items {
		var buf bytes.Buffer
		if err := json.Compact(&buf, it); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("{")) {
			return nil, fmt.Errorf("item %d: not a JSON object", i)
		}
		out = append(out, json.RawMessage(buf.Bytes()))
	}
	return out, nil
}

// setJSONField returns obj with key set to value (added when missing).
// Used to give policies and named locations an id when the scenario omits it.
func setJSONField(obj json.RawMessage, key string, value any) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil, err
	}
	v, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	m[key] = v
	return json.Marshal(m)
}
