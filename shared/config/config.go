// Package config reads typed configuration from environment variables. Both binaries
// embed its structs; every error names the variable at fault.
package config

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/sethvargo/go-envconfig"
)

// Getenv looks a variable up; os.Getenv in production, a map in tests.
type Getenv func(string) string

// Load fills target, a pointer to a struct with `env` tags, from getenv. An empty value
// counts as unset. Every missing or malformed variable is reported, not only the first:
// the error joins one error per variable (errors.Join), each naming it and never
// echoing its value. On error, target holds what could be read, with defaults in place
// of the bad values, so callers can go on checking the rest.
func Load(ctx context.Context, getenv Getenv, target any) error {
	rv := reflect.ValueOf(target)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return errors.New("config.Load: target must be a pointer to a struct")
	}
	// envconfig stops at the first error. Fields are looked up one at a time, each just
	// before it is decoded, so the last key looked up names the variable at fault. The
	// next pass treats a malformed variable as unset (its default applies) and a
	// missing required one as set but empty, and so gets past it to the following
	// variables. Each pass gets past one more variable, so this ends; a variable that
	// fails twice ends it early.
	orig := reflect.New(rv.Elem().Type()).Elem()
	orig.Set(rv.Elem()) // each pass starts from what the caller passed
	failed := map[string]bool{}
	missing := map[string]bool{}
	var errs []error
	for {
		rv.Elem().Set(orig)
		var current string
		err := envconfig.ProcessWith(ctx, &envconfig.Config{
			Target: target,
			Lookuper: envconfig.LookuperFunc(func(key string) (string, bool) {
				current = key
				switch {
				case missing[key]:
					return "", true
				case failed[key]:
					return "", false
				}
				v := getenv(key)
				return v, v != ""
			}),
		})
		if err == nil {
			return errors.Join(errs...)
		}
		if current == "" || failed[current] || missing[current] {
			if current == "" { // not about a variable: the target's tags are wrong
				errs = append(errs, fmt.Errorf("config: %w", err))
			}
			return errors.Join(errs...)
		}
		if errors.Is(err, envconfig.ErrMissingRequired) {
			missing[current] = true
		} else {
			failed[current] = true
		}
		errs = append(errs, variableError(current, getenv(current), err))
	}
}

// variableError says what is wrong with variable name, whose value was value, without
// repeating the value (it may be a secret set in the wrong place).
func variableError(name, value string, err error) error {
	if errors.Is(err, envconfig.ErrMissingRequired) {
		return fmt.Errorf("config: %s: %w", name, envconfig.ErrMissingRequired)
	}
	msg := cause(err)
	if value != "" {
		for _, q := range []string{strconv.Quote(value), `"` + value + `"`} {
			msg = strings.ReplaceAll(msg, " "+q, "")
			msg = strings.ReplaceAll(msg, q, "value")
		}
	}
	return fmt.Errorf("config: %s: %s", name, msg)
}

// cause drops envconfig's "Field: Field: " prefixes, which name Go fields rather than
// the variables an operator sets.
func cause(err error) string {
	msg := err.Error()
	for {
		head, rest, ok := strings.Cut(msg, ": ")
		if !ok || strings.ContainsAny(head, " \"") || head == "" || head[0] < 'A' || head[0] > 'Z' {
			return msg
		}
		msg = rest
	}
}
