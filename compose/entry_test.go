package compose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEntriesLoad builds an override of every entry kind and loads it over
// a base file with compose-go: what the constructors write is what docker
// compose reads, tags included.
func TestEntriesLoad(t *testing.T) {
	base := File{Path: "base.yml", Text: []byte(`services:
  web:
    image: app
    ports:
      - "127.0.0.1:3000:3000"
      - "9000:9000"
    healthcheck:
      test: ["CMD", "true"]
  sidekiq:
    image: app
    command: bundle exec sidekiq
    ports:
      - "4000:4000"
`)}
	// extends: reads its file from the project folder.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "base.yml"), base.Text, 0o644); err != nil {
		t.Fatal(err)
	}
	base.Dir = dir
	port, err := ParsePort("127.0.0.1:3001:3000")
	if err != nil {
		t.Fatal(err)
	}
	text := NewFile("written by a test", "second line")
	text = AppendServices(text, []string{
		ServiceBlock("web", "", Override(PortsEntry([]Port{port})), Reset("healthcheck"),
			EnvList([][2]string{{"DB_POOL", "5"}, {"URL", "redis://:p#w@x:6379"}})),
		ServiceBlock("sidekiq", "", IntValue("scale", 0), Mapping("deploy", IntValue("replicas", 0)), ResetList("ports")),
		ServiceBlock("copy", "made by a test", Extends("base.yml", "sidekiq"), Value("hostname", "a:b")),
	}, false)
	if !strings.HasPrefix(text, "# written by a test\n# second line\nservices:\n  web:\n    ports: !override\n      - '127.0.0.1:3001:3000'\n") {
		t.Errorf("text starts:\n%s", text)
	}
	if err := ValidateFiles(base, File{Path: "over.yml", Text: []byte(text), Dir: dir}); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	over, err := Parse("over.yml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	bs, _ := mustParse(t, base).Services()
	ov, err := over.Services()
	if err != nil {
		t.Fatal(err)
	}
	m := Merge(bs, ov)
	got := map[string]Service{}
	for _, s := range m {
		got[s.Name] = s
	}
	if w := got["web"]; len(w.Ports) != 1 || w.Ports[0].String() != "127.0.0.1:3001:3000" || w.Env["URL"] != "redis://:p#w@x:6379" || w.Env["DB_POOL"] != "5" {
		t.Errorf("web merged = %+v", w)
	}
	if s := got["sidekiq"]; !s.Disabled || len(s.Ports) != 0 {
		t.Errorf("sidekiq merged = %+v", s)
	}
	if c := got["copy"]; c.Hostname != "a:b" {
		t.Errorf("copy merged = %+v", c)
	}
}

func TestEntryEditsADocument(t *testing.T) {
	d, err := ParseService("x.yml", "s:\n  image: a\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetEntry("s", Value("image", "b:1")); err != nil {
		t.Fatal(err)
	}
	if err := d.SetEntry("s", Reset("healthcheck")); err != nil {
		t.Fatal(err)
	}
	e, ok := d.Entry("s", "image")
	if !ok || e.Text() != "image: 'b:1'\n" || e.Tagged {
		t.Errorf("Entry = %q, %v", e.Text(), ok)
	}
	want := "services:\n  s:\n    image: 'b:1'\n    healthcheck: !reset null\n"
	if got := string(d.Bytes()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if !Override(PortsEntry(nil)).Tagged || Value("a", "b").Tagged {
		t.Error("Tagged is wrong")
	}
	if got := Override(Entry{Key: "ports", text: "ports: ['1:1']\n"}).Text(); got != "ports: !override ['1:1']\n" {
		t.Errorf("flow override = %q", got)
	}
}

func mustParse(t *testing.T, f File) *Document {
	t.Helper()
	d, err := Parse(f.Path, f.Text)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAppendListItem(t *testing.T) {
	d, err := ParseService("x.yml", "db:\n  image: postgres\n  volumes:\n    - ./data:/var/lib/postgresql/data\n")
	if err != nil {
		t.Fatal(err)
	}
	shm := []Entry{Value("type", "tmpfs"), Value("target", "/dev/shm"), Mapping("tmpfs", IntValue("size", 1024))}
	if err := d.AppendListItem("db", "volumes", shm...); err != nil {
		t.Fatal(err)
	}
	if err := d.AppendListItem("db", "ports", Value("target", "5432")); err != nil {
		t.Fatal(err)
	}
	want := "services:\n  db:\n    image: postgres\n    volumes:\n      - ./data:/var/lib/postgresql/data\n      - type: tmpfs\n        target: /dev/shm\n        tmpfs:\n          size: 1024\n    ports:\n      - target: 5432\n"
	if got := string(d.Bytes()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := ValidateFiles(File{Path: "x.yml", Text: d.Bytes()}); err != nil {
		t.Error(err)
	}
	flow, _ := ParseService("x.yml", "db:\n  volumes: [a:/b]\n")
	if err := flow.AppendListItem("db", "volumes", Value("type", "tmpfs")); err == nil {
		t.Error("appending to a flow list was not refused")
	}
}

func TestRemoveTopKey(t *testing.T) {
	d, err := Parse("x.yml", []byte("name: mastodon\nservices:\n  web:\n    image: a\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveTopKey("name"); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveTopKey("version"); err != nil {
		t.Fatal(err)
	}
	if got := string(d.Bytes()); got != "services:\n  web:\n    image: a\n" {
		t.Errorf("got %q", got)
	}
}
