package compose

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func parse(t *testing.T, src string) *Document {
	t.Helper()
	d, err := Parse("test.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSetEnv(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"list, add, keep quoting",
			"services:\n  a:\n    environment:\n      - 'X=1'\n    image: i\n",
			"services:\n  a:\n    environment:\n      - 'X=1'\n      - 'DB_POOL=25'\n    image: i\n"},
		{"list, replace",
			"services:\n  a:\n    environment:\n      - DB_POOL=5 # old\n      - Y=2\n",
			"services:\n  a:\n    environment:\n      - DB_POOL=25 # old\n      - Y=2\n"},
		{"map, replace keeping quotes",
			"services:\n  a:\n    environment:\n      DB_POOL: \"10\"\n      Z: z\n",
			"services:\n  a:\n    environment:\n      DB_POOL: \"25\"\n      Z: z\n"},
		{"map, add after a multi-line entry",
			"services:\n  a:\n    environment:\n      Z: >\n        folded\n        text\n    image: i\n",
			"services:\n  a:\n    environment:\n      Z: >\n        folded\n        text\n      DB_POOL: 25\n    image: i\n"},
		{"map, null value",
			"services:\n  a:\n    environment:\n      DB_POOL:\n      Z: z\n",
			"services:\n  a:\n    environment:\n      DB_POOL: 25\n      Z: z\n"},
		{"none: added after command, map style by default",
			"services:\n  a:\n    image: i\n    command: run\n    restart: always\n",
			"services:\n  a:\n    image: i\n    command: run\n    environment:\n      DB_POOL: 25\n    restart: always\n"},
		{"none: list style when the file uses lists, 4-space indent",
			"services:\n    b:\n        environment:\n            - A=1\n    a:\n        image: i\n",
			"services:\n    b:\n        environment:\n            - A=1\n    a:\n        image: i\n        environment:\n            - DB_POOL=25\n"},
		{"unchanged value: bytes untouched",
			"services:\n  a:\n    environment:\n      DB_POOL:   '25'   # same\n",
			"services:\n  a:\n    environment:\n      DB_POOL:   '25'   # same\n"},
		{"no final newline",
			"services:\n  a:\n    environment:\n      - A=1",
			"services:\n  a:\n    environment:\n      - A=1\n      - DB_POOL=25"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := parse(t, tc.in)
			if err := d.SetEnv("a", "DB_POOL", "25"); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(d.Bytes())); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetEnvOverMergedEnvironment(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"anchored mapping: merged, the anchor keeps working",
			"x: &x\n  environment: &env\n    A: 1\nservices:\n  a:\n    <<: *x\n    image: i\n",
			"x: &x\n  environment: &env\n    A: 1\nservices:\n  a:\n    <<: *x\n    image: i\n    environment:\n      <<: *env\n      DB_POOL: 5\n"},
		{"plain mapping: copied as written",
			"x: &x\n  environment:\n    A: '${A:-1}'\n    B: two # note\nservices:\n  a:\n    <<: [*x]\n    command: run\n",
			"x: &x\n  environment:\n    A: '${A:-1}'\n    B: two # note\nservices:\n  a:\n    <<: [*x]\n    command: run\n    environment:\n      A: '${A:-1}'\n      B: two\n      DB_POOL: 5\n"},
		{"list, with the old DB_POOL dropped",
			"x: &x\n  environment:\n    - \"A=1\"\n    - DB_POOL=10\nservices:\n  a:\n    <<: *x\n",
			"x: &x\n  environment:\n    - \"A=1\"\n    - DB_POOL=10\nservices:\n  a:\n    <<: *x\n    environment:\n      - \"A=1\"\n      - \"DB_POOL=5\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := parse(t, tc.in)
			if err := d.SetEnv("a", "DB_POOL", "5"); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(d.Bytes())); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			ss, err := d.Services()
			if err != nil {
				t.Fatal(err)
			}
			if ss[0].Env["DB_POOL"] != "5" || ss[0].Env["A"] == "" {
				t.Errorf("the service reads as %v", ss[0].Env)
			}
		})
	}
}

func TestSetCommand(t *testing.T) {
	argv := []string{"bundle", "exec", "sidekiq", "-c", "5", "-q", "default"}
	for _, tc := range []struct {
		name, in, want string
	}{
		{"plain string",
			"services:\n  a:\n    command: bundle exec sidekiq # run it\n",
			"services:\n  a:\n    command: bundle exec sidekiq -c 5 -q default # run it\n"},
		{"double-quoted string",
			"services:\n  a:\n    command: \"bundle exec sidekiq\"\n",
			"services:\n  a:\n    command: \"bundle exec sidekiq -c 5 -q default\"\n"},
		{"flow list, quoting kept",
			"services:\n  a:\n    command: ['bundle', 'exec', 'sidekiq']\n    image: i\n",
			"services:\n  a:\n    command: ['bundle', 'exec', 'sidekiq', '-c', '5', '-q', 'default']\n    image: i\n"},
		{"block list",
			"services:\n  a:\n    command:\n      - bundle\n      - exec\n      - sidekiq\n    image: i\n",
			"services:\n  a:\n    command:\n      - bundle\n      - exec\n      - sidekiq\n      - -c\n      - \"5\"\n      - -q\n      - default\n    image: i\n"},
		{"absent: after image",
			"services:\n  a:\n    image: i\n    restart: always\n",
			"services:\n  a:\n    image: i\n    command: bundle exec sidekiq -c 5 -q default\n    restart: always\n"},
		{"same argv, other spelling: untouched",
			"services:\n  a:\n    command: bundle  exec sidekiq -c 5 -q 'default'\n",
			"services:\n  a:\n    command: bundle  exec sidekiq -c 5 -q 'default'\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := parse(t, tc.in)
			if err := d.SetCommand("a", argv); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(d.Bytes())); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// A value YAML would misread is quoted.
	d := parse(t, "services:\n  a:\n    command: run\n")
	if err := d.SetCommand("a", []string{"echo", "a: b", "#x"}); err != nil {
		t.Fatal(err)
	}
	if got := string(d.Bytes()); got != "services:\n  a:\n    command: \"echo 'a: b' '#x'\"\n" {
		t.Errorf("got %q", got)
	}
}

const cloneSrc = `services:
  web:
    image: w

  # the job runner
  sidekiq: &sk
    image: i
    # keep this comment
    healthcheck:
      test: ['CMD-SHELL', "ps aux | grep '[s]idekiq\ 6' || false"]
    environment: &env
      A: 1

  other:
    <<: *sk
`

func TestCloneService(t *testing.T) {
	d := parse(t, cloneSrc)
	if err := d.CloneService("sidekiq", "sidekiq-2", "sidekiq"); err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(cloneSrc, "      A: 1\n\n", `      A: 1

  sidekiq-2:
    image: i
    # keep this comment
    healthcheck:
      test: ['CMD-SHELL', "ps aux | grep '[s]idekiq\ 6' || false"]
    environment:
      A: 1

`, 1)
	if diff := cmp.Diff(want, string(d.Bytes())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := Validate("test.yml", d.Bytes()); err != nil {
		t.Errorf("the clone does not load: %v", err)
	}
}

func TestRenameAndRemoveService(t *testing.T) {
	d := parse(t, cloneSrc)
	if err := d.RenameService("web", "web-1"); err != nil {
		t.Fatal(err)
	}
	if got := string(d.Bytes()); got != strings.Replace(cloneSrc, "  web:", "  web-1:", 1) {
		t.Errorf("rename changed more than the key:\n%s", got)
	}
	d = parse(t, "services:\n  a:\n    image: a\n\n  # about b\n  b:\n    image: b\n\n  c:\n    image: c\n")
	if err := d.RemoveService("b"); err != nil {
		t.Fatal(err)
	}
	if got := string(d.Bytes()); got != "services:\n  a:\n    image: a\n\n  c:\n    image: c\n" {
		t.Errorf("got %q", got)
	}
	if err := d.RenameService("a", "c"); err == nil {
		t.Error("renaming onto an existing service was accepted")
	}
}

func TestCRLFKept(t *testing.T) {
	d := parse(t, "services:\r\n  a:\r\n    command: run\r\n")
	if err := d.SetEnv("a", "DB_POOL", "5"); err != nil {
		t.Fatal(err)
	}
	if got := string(d.Bytes()); got != "services:\r\n  a:\r\n    command: run\r\n    environment:\r\n      DB_POOL: 5\r\n" {
		t.Errorf("got %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"services:\n  a:\n    image: [unclosed\n", "test.yml:"},
		{"- a\n- b\n", "not a compose file"},
		{"version: '3'\n", "no services"},
		{"services:\n  a: {\n", "invalid YAML"},
	} {
		_, err := Parse("test.yml", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error with %q", tc.src, err, tc.want)
		}
	}
	_, err := Parse("test.yml", []byte("services:\n  a:\n    image: i\n  b: [\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "test.yml:5:") {
		t.Errorf("want the YAML error's line as test.yml:5:, got %v", err)
	}
}

func TestLineEndingsRefused(t *testing.T) {
	if _, err := Parse("test.yml", []byte("services:\n  a:\r    image: i\n")); err == nil || !strings.HasPrefix(err.Error(), "test.yml:2: a carriage return") {
		t.Errorf("lone CR: %v", err)
	}
	if _, err := Parse("test.yml", []byte("services:\r\n  a:\n    image: i\r\n")); err == nil || !strings.Contains(err.Error(), "mixed line endings") {
		t.Errorf("mixed: %v", err)
	}
}

func TestFlowListCommandQuotesWhatFlowNeeds(t *testing.T) {
	d := parse(t, "services:\n  a:\n    command: [run]\n")
	if err := d.SetCommand("a", []string{"run", "a,b", "[x]", "k: v", "plain"}); err != nil {
		t.Fatal(err)
	}
	if got := string(d.Bytes()); got != "services:\n  a:\n    command: [run, \"a,b\", \"[x]\", \"k: v\", plain]\n" {
		t.Errorf("got %q", got)
	}
	if _, err := parse(t, "services:\n  a:\n    command: [\"bundle\": \"exec\", sidekiq]\n").Services(); err == nil || !strings.Contains(err.Error(), "test.yml:3: service \"a\": command entry 1 is not a string") {
		t.Errorf("a mapping in a command list: %v", err)
	}
}

func TestRenameUpdatesReferences(t *testing.T) {
	in := "services:\n  sidekiq:\n    image: i\n  exporter:\n    image: e\n    depends_on:\n      - sidekiq   # jobs\n      - redis\n  other:\n    image: o\n    links: ['sidekiq:jobs']\n    depends_on: {sidekiq: {condition: service_started}}\n  redis:\n    image: r\n"
	d := parse(t, in)
	if err := d.RenameService("sidekiq", "sidekiq-default"); err != nil {
		t.Fatal(err)
	}
	want := strings.NewReplacer("  sidekiq:\n", "  sidekiq-default:\n", "- sidekiq   #", "- sidekiq-default   #", "{sidekiq:", "{sidekiq-default:", "'sidekiq:jobs'", "'sidekiq-default:jobs'").Replace(in)
	if diff := cmp.Diff(want, string(d.Bytes())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := Validate("test.yml", d.Bytes()); err != nil {
		t.Errorf("does not load: %v", err)
	}
	if err := d.RemoveService("redis"); err == nil || !strings.HasPrefix(err.Error(), "test.yml:8: refers to service redis, which the rewrite removes") {
		t.Errorf("removing a referenced service: %v", err)
	}
	d = parse(t, "services:\n  sidekiq:\n    image: i\n  x:\n    image: x\n    network_mode: service:sidekiq\n")
	if err := d.RenameService("sidekiq", "s2"); err == nil || !strings.Contains(err.Error(), "test.yml:6:") {
		t.Errorf("network_mode reference: %v", err)
	}
}

// ReplaceInEntry changes one token of a value in place, keeping the
// source's own escapes, and nothing else.
func TestReplaceInEntry(t *testing.T) {
	src := "services:\n  s:\n    healthcheck:\n      test: ['CMD-SHELL', \"ps aux | grep '[s]idekiq\\ 6' || false\"]\n    image: x\n"
	doc, err := Parse("x.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.ReplaceInEntry("s", "healthcheck", "[s]idekiq 6", "[s]idekiq 8"); err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(src, `idekiq\ 6`, `idekiq\ 8`, 1)
	if got := string(doc.Bytes()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Again: already done, nothing to do.
	if err := doc.ReplaceInEntry("s", "healthcheck", "[s]idekiq 6", "[s]idekiq 8"); err != nil || string(doc.Bytes()) != want {
		t.Errorf("a second replace: %v\n%s", err, doc.Bytes())
	}
	twice, _ := Parse("x.yml", []byte("services:\n  s:\n    healthcheck:\n      test: \"a 6; a 6\"\n"))
	if err := twice.ReplaceInEntry("s", "healthcheck", "a 6", "a 8"); err == nil {
		t.Error("an ambiguous replace was made")
	}
}
