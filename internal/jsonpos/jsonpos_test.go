package jsonpos

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

func TestAnnotate(t *testing.T) {
	type doc struct {
		A int `json:"a"`
	}
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"{\n  \"a\": x}", "line 2, column 8: invalid character 'x' looking for beginning of value"},
		{`{"a": 1,`, "line 1, column 8: unexpected end of JSON input"},
		{"{\n\"a\": \"s\"}", "line 2, column 8: cannot unmarshal string into Go struct field doc.a of type int"},
		{"{\"é\": 1, \"a\": [}", "line 1, column 16: invalid character '}' looking for beginning of value"},
		{"", "line 1, column 1: unexpected end of JSON input"},
	} {
		var d doc
		err := Annotate([]byte(tc.in), json.Unmarshal([]byte(tc.in), &d))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: got %v, want %s", tc.in, err, tc.want)
		}
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if !errors.As(err, &syn) && !errors.As(err, &typ) {
			t.Errorf("%q: the json error is no longer reachable with errors.As", tc.in)
		}
	}
	other := errors.New("other")
	if Annotate(nil, other) != other || Annotate(nil, nil) != nil {
		t.Error("other errors must pass unchanged")
	}
	wrapped := fmt.Errorf("decode: %w", &json.SyntaxError{Offset: 4})
	if got := Annotate([]byte("ab\ncd"), wrapped); got.(*Error).Line != 2 {
		t.Errorf("wrapped: %v", got)
	}
}

func TestPositionClamps(t *testing.T) {
	for _, off := range []int64{-5, 0, 1, 100} {
		line, col := Position([]byte("a\nb"), off)
		if line < 1 || col < 1 {
			t.Errorf("offset %d: line %d column %d", off, line, col)
		}
	}
}
