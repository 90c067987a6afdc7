// Package jsonpos says where in a document encoding/json gave up: it turns
// the byte offset of a *json.SyntaxError or *json.UnmarshalTypeError into
// a line and column a person can find in an editor.
package jsonpos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a JSON decoding error with its position. Line and Column count
// from 1; Column counts characters, not bytes. Offset is the byte offset
// encoding/json reported.
type Error struct {
	Line, Column int
	Offset       int64
	Err          error
}

func (e *Error) Error() string {
	msg := strings.TrimPrefix(e.Err.Error(), "json: ")
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Annotate returns err as an *Error positioned in data when it is a
// *json.SyntaxError or *json.UnmarshalTypeError (possibly wrapped), and
// err unchanged otherwise (nil stays nil).
func Annotate(data []byte, err error) error {
	var off int64
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
	default:
		return err
	}
	line, col := Position(data, off)
	return &Error{Line: line, Column: col, Offset: off, Err: err}
}

// Position converts the offset encoding/json reports ("after reading
// offset bytes") into the line and column of the last byte read: the
// character the decoder stumbled on, or the last one of a truncated
// document.
func Position(data []byte, offset int64) (line, column int) {
	at := int(min(max(offset-1, 0), int64(len(data))))
	head := data[:at]
	line = 1 + bytes.Count(head, []byte{'\n'})
	start := bytes.LastIndexByte(head, '\n') + 1
	return line, 1 + utf8.RuneCount(head[start:])
}
