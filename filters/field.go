package filters

import (
	"strings"
)

// FieldRoot says where in an event a field lives.
type FieldRoot uint8

// Field roots. The string fields of the user object have their own roots so
// that lookups need no string compares.
const (
	FieldType FieldRoot = iota
	FieldName
	FieldURL
	FieldTimestamp
	FieldProperties
	FieldUserUID
	FieldUserEmail
	FieldUserDisplayName
	FieldUserProperties
)

// Field is a parsed field reference such as "properties.cart.total".
type Field struct {
	Root FieldRoot
	// Path is the key path below properties or user.properties; empty for
	// the other roots.
	Path []string
	// Text is the reference as written, used as the field's identity.
	Text string
}

// ParseField parses a field reference of CONTRACT §2: type, name, url,
// timestamp, properties.<path>, user.uid, user.email, user.display_name,
// user.properties.<path>.
func ParseField(text string) (Field, bool) {
	switch text {
	case "type":
		return Field{Root: FieldType, Text: text}, true
	case "name":
		return Field{Root: FieldName, Text: text}, true
	case "url":
		return Field{Root: FieldURL, Text: text}, true
	case "timestamp":
		return Field{Root: FieldTimestamp, Text: text}, true
	case "user.uid":
		return Field{Root: FieldUserUID, Text: text}, true
	case "user.email":
		return Field{Root: FieldUserEmail, Text: text}, true
	case "user.display_name":
		return Field{Root: FieldUserDisplayName, Text: text}, true
	}
	for _, root := range []struct {
		prefix string
		root   FieldRoot
	}{{"properties.", FieldProperties}, {"user.properties.", FieldUserProperties}} {
		rest, ok := strings.CutPrefix(text, root.prefix)
		if !ok {
			continue
		}
		path := strings.Split(rest, ".")
		if len(path) > MaxFieldPathDepth {
			return Field{}, false
		}
		for _, key := range path {
			if key == "" {
				return Field{}, false
			}
		}
		return Field{Root: root.root, Path: path, Text: text}, true
	}
	return Field{}, false
}
