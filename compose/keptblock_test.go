package compose

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const twoServices = `services:
  web:
    image: app
    command: puma

  # the admin's own note
  worker:
    image: app
    command: sidekiq -q default

networks:
  default:
`

func parseT(t *testing.T, text string) *Document {
	t.Helper()
	d, err := Parse("dc.yml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A kept block written after the last service comes back out byte for
// byte, and the file without it is the file before it was written.
func TestKeptBlockRoundTrip(t *testing.T) {
	d := parseT(t, twoServices)
	block, ok := d.ServiceBlock("worker")
	if !ok || !strings.HasPrefix(block, "# the admin's own note\nworker:\n") {
		t.Fatalf("ServiceBlock: %q", block)
	}
	kept := block + "\n" + "worker-2:\n  image: app\n\n  command: sidekiq -q push\n"
	if err := d.AppendKept("kept for later", kept); err != nil {
		t.Fatal(err)
	}
	out := string(d.Bytes())
	if !strings.Contains(out, "  # compose-scale kept: kept for later\n  #~ # the admin's own note\n  #~ worker:\n") || !strings.Contains(out, "\n  #~\n") {
		t.Fatalf("the block reads:\n%s", out)
	}
	if _, err := Parse("dc.yml", []byte(out)); err != nil {
		t.Fatalf("the file with the block does not parse: %v", err)
	}
	got, rest, ok := KeptServices([]byte(out))
	if !ok {
		t.Fatal("no block found")
	}
	if diff := cmp.Diff(kept, got); diff != "" {
		t.Errorf("kept text (-written +read):\n%s", diff)
	}
	if diff := cmp.Diff(twoServices, string(rest)); diff != "" {
		t.Errorf("without the block (-before +after):\n%s", diff)
	}
	if _, _, ok := KeptServices([]byte(twoServices)); ok {
		t.Error("a file without a block has one")
	}
}

// Service text goes in before or after a named service, a blank line
// apart, comments staying with the service they are above.
func TestInsertServiceText(t *testing.T) {
	d := parseT(t, twoServices)
	if err := d.InsertServiceTextBefore("worker", "mailer:\n  image: app\n"); err != nil {
		t.Fatal(err)
	}
	if err := d.InsertServiceTextAfter("worker", "pull:\n  image: app\n"); err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(twoServices, "  # the admin's own note\n", "  mailer:\n    image: app\n\n  # the admin's own note\n", 1)
	want = strings.Replace(want, "    command: sidekiq -q default\n", "    command: sidekiq -q default\n\n  pull:\n    image: app\n", 1)
	if diff := cmp.Diff(want, string(d.Bytes())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	svcs, err := d.Services()
	if err != nil || len(svcs) != 4 {
		t.Fatalf("services: %v %v", svcs, err)
	}
}

// A comment goes above a service, after the ones already there, and
// ServiceComments reads them back in order.
func TestServiceComments(t *testing.T) {
	d := parseT(t, twoServices)
	if err := d.CommentService("worker", "added by a tool"); err != nil {
		t.Fatal(err)
	}
	if got := d.ServiceComments("worker"); !cmp.Equal(got, []string{"the admin's own note", "added by a tool"}) {
		t.Errorf("comments: %q", got)
	}
	if got := d.ServiceComments("web"); len(got) != 0 {
		t.Errorf("web's comments: %q", got)
	}
}

// An override's entry goes even when other entries still refer to the
// service (the base file defines it); RemoveService refuses that.
func TestRemoveServiceEntry(t *testing.T) {
	over := "services:\n  db:\n    command: postgres -c max_connections=190\n  migrate:\n    depends_on:\n      - db\n"
	if err := parseT(t, over).RemoveService("db"); err == nil {
		t.Error("RemoveService removed a service another refers to")
	}
	d := parseT(t, over)
	if err := d.RemoveServiceEntry("db"); err != nil {
		t.Fatal(err)
	}
	if got := string(d.Bytes()); got != "services:\n  migrate:\n    depends_on:\n      - db\n" {
		t.Errorf("got:\n%s", got)
	}
}

// A key goes only while it holds what was written; a service's only key
// is reported so.
func TestRemoveKeyIfAndOnlyKey(t *testing.T) {
	d := parseT(t, "services:\n  sidekiq:\n    build: .\n    image: mastodon-sidekiq:local\n")
	if err := d.RemoveKeyIf("sidekiq", "image", "something-else"); err != nil || !strings.Contains(string(d.Bytes()), "image:") {
		t.Errorf("removed a key holding another value: %v", err)
	}
	if err := d.RemoveKeyIf("sidekiq", "image", "mastodon-sidekiq:local"); err != nil || strings.Contains(string(d.Bytes()), "image:") {
		t.Errorf("kept the key: %v\n%s", err, d.Bytes())
	}
	if !d.OnlyKey("sidekiq", "build") || d.OnlyKey("sidekiq", "image") {
		t.Error("OnlyKey")
	}
}
