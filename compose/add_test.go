package compose

import (
	"strings"
	"testing"
)

// AddService writes a service in the file's own style: its indentation,
// its environment form, a blank line where the file separates services,
// scalars quoted where YAML would misread them.
func TestAddService(t *testing.T) {
	for _, tc := range []struct {
		name, src, after, want string
	}{
		{"after a service, map environment, blank lines", "services:\n  db:\n    image: postgres\n    environment:\n      A: b\n\n  web:\n    image: app\n", "db",
			"services:\n  db:\n    image: postgres\n    environment:\n      A: b\n\n  pool:\n    # a comment\n    image: edoburu/pgbouncer:v1.24\n    restart: \"no\"\n    environment:\n      URL: postgres://u:p@db:5432/x\n    command:\n      - |\n        line one\n\n        line three\n    depends_on:\n      - db\n    healthcheck:\n      test: ['CMD', 'pg_isready']\n\n  web:\n    image: app\n"},
		{"at the end, four-space indent, list environment", "services:\n    db:\n        image: postgres\n        environment:\n            - A=b\n", "",
			"services:\n    db:\n        image: postgres\n        environment:\n            - A=b\n    pool:\n        # a comment\n        image: edoburu/pgbouncer:v1.24\n        restart: \"no\"\n        environment:\n            - URL=postgres://u:p@db:5432/x\n        command:\n            - |\n                line one\n\n                line three\n        depends_on:\n            - db\n        healthcheck:\n            test: ['CMD', 'pg_isready']\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse("x.yml", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			err = d.AddService("pool", tc.after, NewService{
				Comment: "a comment", Image: "edoburu/pgbouncer:v1.24", Restart: "no",
				Env:     [][2]string{{"URL", "postgres://u:p@db:5432/x"}},
				Command: []string{"line one\n\nline three\n"}, DependsOn: []string{"db"},
				Healthcheck: []string{"CMD", "pg_isready"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := string(d.Bytes()); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
			ss, err := d.Services()
			if err != nil {
				t.Fatal(err)
			}
			var pool Service
			for _, s := range ss {
				if s.Name == "pool" {
					pool = s
				}
			}
			if pool.Env["URL"] != "postgres://u:p@db:5432/x" || pool.Image != "edoburu/pgbouncer:v1.24" || len(pool.Command) != 1 || pool.Healthcheck != "CMD pg_isready" {
				t.Errorf("read back as %+v", pool)
			}
			if err := ValidateFiles(File{Path: "x.yml", Text: d.Bytes()}); err != nil {
				t.Error(err)
			}
		})
	}
	d, _ := Parse("x.yml", []byte("services:\n  web:\n    image: app\n"))
	if err := d.AddService("web", "", NewService{Image: "x"}); err == nil || !strings.Contains(err.Error(), "x.yml:2:") {
		t.Errorf("adding a service that exists: %v", err)
	}
}

// EditService makes several edits on the service's block alone and splices
// them back: the same bytes as editing the whole file, and the file's own
// line numbers in an error. A block whose anchor other services use is
// edited in the whole file.
func TestEditServiceBatch(t *testing.T) {
	src := "x-common: &common\n  image: app\nservices:\n  web:\n    <<: *common\n    environment:\n      A: b\n  sidekiq:\n    <<: *common\n    command: bundle exec sidekiq\n"
	edits := func(d *Document) error {
		if err := d.SetEnv("sidekiq", "DB_POOL", "25"); err != nil {
			return err
		}
		return d.SetCommand("sidekiq", []string{"bundle", "exec", "sidekiq", "-c", "25"})
	}
	batch, _ := Parse("x.yml", []byte(src))
	if err := batch.EditService("sidekiq", edits); err != nil {
		t.Fatal(err)
	}
	whole, _ := Parse("x.yml", []byte(src))
	if err := edits(whole); err != nil {
		t.Fatal(err)
	}
	if string(batch.Bytes()) != string(whole.Bytes()) {
		t.Errorf("batch\n%s\nwhole\n%s", batch.Bytes(), whole.Bytes())
	}
	if !strings.Contains(string(batch.Bytes()), "DB_POOL") {
		t.Errorf("the edit was lost:\n%s", batch.Bytes())
	}
	err := batch.EditService("sidekiq", func(d *Document) error { return d.SetEnv("nosuch", "A", "b") })
	if err == nil || !strings.HasPrefix(err.Error(), "x.yml") {
		t.Errorf("an edit that fails: %v", err)
	}

	// Copies made with their edits, in order, after web.
	d, _ := Parse("x.yml", []byte(src))
	fns := []func(*Document) error{
		func(c *Document) error { return c.SetEnv("sidekiq-a", "DB_POOL", "10") },
		func(c *Document) error { return c.SetEnv("sidekiq-b", "DB_POOL", "20") },
	}
	if err := d.CloneServicesWith("sidekiq", []string{"sidekiq-a", "sidekiq-b"}, "web", fns); err != nil {
		t.Fatal(err)
	}
	ss, err := d.Services()
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, s := range ss {
		order = append(order, s.Name+"="+s.Env["DB_POOL"]+","+s.Image)
	}
	if got := strings.Join(order, " "); got != "web=,app sidekiq-a=10,app sidekiq-b=20,app sidekiq=,app" {
		t.Errorf("services after cloning: %s\n%s", got, d.Bytes())
	}
}

// The entry-level reads and edits an override is written with.
func TestEntries(t *testing.T) {
	d, err := Parse("x.yml", []byte("services:\n  web:\n    image: app  # pinned\n    ports:\n      - \"3000:3000\"\n  sidekiq:\n    image: app\n"))
	if err != nil {
		t.Fatal(err)
	}
	if text, ok := d.EntryText("web", "ports"); !ok || text != "ports:\n  - \"3000:3000\"\n" {
		t.Errorf("EntryText = %q, %v", text, ok)
	}
	if _, ok := d.EntryText("web", "command"); ok {
		t.Error("EntryText found a key the service lacks")
	}
	if err := d.SetEntryText("web", "ports", "ports: !override\n  - '3001:3000'\n"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetEntryText("sidekiq", "scale", "scale: 0\n"); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveKey("web", "image"); err != nil {
		t.Fatal(err)
	}
	if err := d.AppendServiceText("streaming:\n  image: app\n"); err != nil {
		t.Fatal(err)
	}
	if err := d.ReplaceServiceText("sidekiq", "sidekiq:\n  image: app:2\n  scale: 0\n"); err != nil {
		t.Fatal(err)
	}
	want := "services:\n  web:\n    ports: !override\n      - '3001:3000'\n  sidekiq:\n    image: app:2\n    scale: 0\n\n  streaming:\n    image: app\n"
	if got := string(d.Bytes()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	ss, err := d.Services()
	if err != nil {
		t.Fatal(err)
	}
	if ss[0].Tags["ports"] != "!override" || !ss[1].Disabled || ss[2].Name != "streaming" {
		t.Errorf("read back: %+v", ss)
	}
}

// Merge applies an override as docker compose does, and agrees with
// compose-go's own merge (LoadMerged) on what the planner reads.
func TestMergeAgreesWithCompose(t *testing.T) {
	base := File{Path: "base.yml", Text: []byte("services:\n  web:\n    image: app:1\n    command: bundle exec puma\n    environment:\n      A: a\n      B: b\n    ports:\n      - \"3000:3000\"\n  sidekiq:\n    image: app:1\n    command: bundle exec sidekiq\n    ports:\n      - \"4000:4000\"\n")}
	over := File{Path: "over.yml", Text: []byte("services:\n  web:\n    image: app:2\n    environment:\n      B: over\n    ports:\n      - \"3001:3001\"\n  sidekiq:\n    scale: 0\n    ports: !override\n      - \"4001:4000\"\n  extra:\n    image: redis\n")}
	bs, err := mustParse(t, base).Services()
	if err != nil {
		t.Fatal(err)
	}
	os, err := mustParse(t, over).Services()
	if err != nil {
		t.Fatal(err)
	}
	ours := map[string]Service{}
	for _, s := range Merge(bs, os) {
		ours[s.Name] = s
	}
	theirs, err := LoadMerged(nil, base, over)
	if err != nil {
		t.Fatal(err)
	}
	if len(theirs) != len(ours) {
		t.Fatalf("compose has %d services, Merge %d", len(theirs), len(ours))
	}
	for _, c := range theirs {
		m := ours[c.Name]
		var mp, cp []string
		for _, p := range m.Ports {
			mp = append(mp, p.Published+":"+p.Target)
		}
		for _, p := range c.Ports {
			cp = append(cp, p.Published+":"+p.Target)
		}
		if m.Image != c.Image || strings.Join(m.Command, " ") != strings.Join(c.Command, " ") || strings.Join(mp, ",") != strings.Join(cp, ",") || m.Env["B"] != c.Env["B"] || m.Env["A"] != c.Env["A"] {
			t.Errorf("%s: Merge %q %q %v %v; compose %q %q %v %v", c.Name, m.Image, m.Command, mp, m.Env, c.Image, c.Command, cp, c.Env)
		}
	}
	if !ours["sidekiq"].Disabled {
		t.Error("scale: 0 did not switch sidekiq off")
	}
	if masks, line := Masks(os, "web", "environment/B"); !masks || line != 2 {
		t.Errorf("Masks(web, B) = %v, %d", masks, line)
	}
	if masks, _ := Masks(os, "web", "command"); masks {
		t.Error("the override does not set web's command")
	}
}

// A service's self-contained text means the same in another file: the
// aliases it uses are resolved, and extends names its file.
func TestSelfContained(t *testing.T) {
	d, err := Parse("base.yml", []byte("x-env: &env\n  A: a\nservices:\n  web:\n    image: app\n    environment: *env\n  copy:\n    extends: web\n"))
	if err != nil {
		t.Fatal(err)
	}
	text, ok := d.SelfContainedServiceText("web")
	if !ok || strings.Contains(text, "*env") || !strings.Contains(text, "A: a") {
		t.Errorf("SelfContainedServiceText = %q", text)
	}
	if err := d.PointExtendsAt("copy", "../base.yml"); err != nil {
		t.Fatal(err)
	}
	e, ok := d.EntryText("copy", "extends")
	if !ok || e != "extends:\n  file: ../base.yml\n  service: web\n" {
		t.Errorf("extends after PointExtendsAt = %q", e)
	}
	standalone, err := ParseService("other.yml", text)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := standalone.Services()
	if err != nil || len(ss) != 1 || ss[0].Env["A"] != "a" {
		t.Errorf("the text alone reads as %+v, %v", ss, err)
	}
}
