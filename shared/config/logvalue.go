package config

import (
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"
)

// LogValue renders a configuration struct (the kind Load fills) for the start-up log:
// one attribute per variable, keyed by the variable's name (REDIS_ADDR), durations as
// their String (60s is "1m0s", not 60000000000), secrets redacted through their own
// LogValue. Fields without a variable name are left out, unless they are structs that
// hold some. Configuration types give themselves a LogValue method that calls it.
func LogValue(cfg any) slog.Value {
	var attrs []slog.Attr
	appendAttrs(&attrs, reflect.ValueOf(cfg), "")
	return slog.GroupValue(attrs...)
}

func appendAttrs(attrs *[]slog.Attr, v reflect.Value, prefix string) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("env"), ",")
		name = strings.TrimSpace(name)
		if name == "" {
			appendAttrs(attrs, v.Field(i), prefix+tagPrefix(opts))
			continue
		}
		*attrs = append(*attrs, slog.Attr{Key: prefix + name, Value: fieldValue(v.Field(i).Interface())})
	}
}

// tagPrefix is the prefix= option of an env tag's options, or "".
func tagPrefix(opts string) string {
	for o := range strings.SplitSeq(opts, ",") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(o), "prefix="); ok {
			return p
		}
	}
	return ""
}

func fieldValue(x any) slog.Value {
	switch x := x.(type) {
	case slog.LogValuer: // Secret, and any type that knows how it wants to be logged
		return x.LogValue()
	case time.Duration:
		return slog.StringValue(x.String())
	case fmt.Stringer:
		return slog.StringValue(x.String())
	}
	return slog.AnyValue(x)
}
