package policy

import (
	"bytes"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeText returns b as UTF-8 without a byte order mark. It accepts UTF-8
// with or without BOM and UTF-16 LE/BE with BOM, which is what Windows
// PowerShell's Out-File and Set-Content write by default; UTF-16 without a
// BOM is recognised by its NUL bytes because JSON text starts with ASCII.
// CRLF needs no handling: JSON treats CR as whitespace.
func DecodeText(b []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		b = b[3:]
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return decodeUTF16(b[2:], false)
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return decodeUTF16(b[2:], true)
	case len(b) >= 4 && b[0] != 0 && b[1] == 0 && b[2] != 0 && b[3] == 0:
		return decodeUTF16(b, false)
	case len(b) >= 4 && b[0] == 0 && b[1] != 0 && b[2] == 0 && b[3] != 0:
		return decodeUTF16(b, true)
	}
	if !utf8.Valid(b) {
		return nil, errors.New("not text: invalid UTF-8 and no UTF-16 byte order mark")
	}
	return b, nil
}

func decodeUTF16(b []byte, bigEndian bool) ([]byte, error) {
	if len(b)%2 != 0 {
		return nil, errors.New("truncated UTF-16 text (odd number of bytes)")
	}
	units := make([]uint16, len(b)/2)
	for i := range units {
		if bigEndian {
			units[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			units[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	runes := utf16.Decode(units)
	out := make([]byte, 0, len(runes))
	for _, r := range runes {
		out = utf8.AppendRune(out, r)
	}
	// A BOM may follow a BOM when tools re-encode; drop a leftover one.
	return bytes.TrimPrefix(out, []byte{0xEF, 0xBB, 0xBF}), nil
}
