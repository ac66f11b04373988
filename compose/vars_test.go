package compose

import (
	"strings"
	"testing"
)

func TestVarsInterpolate(t *testing.T) {
	env := map[string]string{"TAG": "v4.5.1", "EMPTY": ""}
	vars, err := NewVars(".env", []byte("TAG=v4.3.2\nREPO=ghcr.io/mastodon/mastodon\nFROM_ENV=${TAG}-x\n"), func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"${REPO}:${TAG}", "ghcr.io/mastodon/mastodon:v4.5.1", true}, // the environment wins over .env
		{"${UNSET:-v4.2.0}", "v4.2.0", true},
		{"${UNSET-v4.2.0}", "v4.2.0", true},
		{"${EMPTY:-d}", "d", true},
		{"${EMPTY-d}", "", true},
		{"${TAG:+pinned}", "pinned", true},
		{"$${NOT}", "${NOT}", true},
		{"${UNSET}", "", false},
		{"${UNSET:?set it}", "${UNSET:?set it}", false},
		{"${UNSET:-postgres}:${TAG}", "postgres:v4.5.1", true},
		{"${UNSET:-postgres}:${ALSO_UNSET}", "postgres:", false},
		{"${FROM_ENV}", "v4.5.1-x", true}, // .env may refer to the environment
		{"no variables", "no variables", true},
	} {
		got, ok := vars.Interpolate(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q: got %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if vars.Source("TAG") != "the environment" || vars.Source("REPO") != ".env" || vars.Source("NONE") != "" {
		t.Errorf("sources: %q %q %q", vars.Source("TAG"), vars.Source("REPO"), vars.Source("NONE"))
	}
	var none *Vars
	if got, ok := none.Interpolate("${X:-d}"); got != "d" || !ok {
		t.Errorf("no vars: %q %v", got, ok)
	}
}

// A broken .env is an error that says where, never what the line holds.
func TestVarsBrokenDotEnv(t *testing.T) {
	_, err := NewVars(".env", []byte("GOOD=1\nSECRET='MARKER-unterminated\n"), nil)
	if err == nil || strings.Contains(err.Error(), "MARKER") || !strings.Contains(err.Error(), ".env") {
		t.Errorf("got %v", err)
	}
}

// Validation with the real values: what docker compose rejects with them
// is refused, an unset variable is a warning, and an error message never
// quotes a value.
func TestValidateWithVars(t *testing.T) {
	src := []byte("services:\n  web:\n    image: ${IMG}\n    ports:\n      - ${HTTP_IP}:${HTTP_PORT}:3000\n    volumes:\n      - ${BASE}/x:/x\n    environment:\n      SECRET: ${SECRET:?needed}\n")
	none, _ := NewVars("", nil, nil)
	warnings, err := ValidateWith(none, File{Path: "dc.yml", Text: src})
	if err != nil {
		t.Fatalf("unset variables refused: %v", err)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "variables BASE, HTTP_IP, HTTP_PORT, IMG are not set") || !strings.Contains(warnings[1], "variable SECRET is not set") {
		t.Errorf("warnings: %q", warnings)
	}
	bad, _ := NewVars(".env", []byte("HTTP_IP=MARKER-not-an-address\nHTTP_PORT=3000\nIMG=x\nBASE=.\nSECRET=s\n"), nil)
	_, err = ValidateWith(bad, File{Path: "dc.yml", Text: src})
	if err == nil || strings.Contains(err.Error(), "MARKER") || !strings.Contains(err.Error(), "${HTTP_IP}") {
		t.Errorf("an invalid address from .env: %v", err)
	}
}
