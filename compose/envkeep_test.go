package compose

import (
	"strings"
	"testing"
)

// What SetEnvKeeping and SetKeyKeeping change, RemoveEnv and RestoreKey
// give back byte for byte, in every form an entry is written; an entry
// the admin changed since is left alone, and one compose-scale added goes.
func TestKeptEntriesComeBack(t *testing.T) {
	src := `services:
  web:
    image: x
    shm_size: "256mb"  # enough
    environment:
      DB_HOST: 'db' # ours
      DB_PORT: 5432
  streaming:
    image: x
    environment:
      - "DB_HOST=db"
      - DB_PORT=5432   # the default
`
	doc, err := Parse("c.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, svc := range []string{"web", "streaming"} {
		must(doc.SetEnvKeeping(svc, "DB_HOST", "pgbouncer"))
		must(doc.SetEnvKeeping(svc, "DB_PORT", "6432"))
		must(doc.SetEnvKeeping(svc, "PREPARED_STATEMENTS", "false"))
		// A second run keeps the first kept text, not its own.
		must(doc.SetEnvKeeping(svc, "DB_HOST", "pgbouncer"))
	}
	must(doc.SetKeyKeeping("web", "shm_size", "1gb"))
	changed := string(doc.Bytes())
	for _, want := range []string{`DB_HOST: 'pgbouncer' # compose-scale replaced: 'db' # ours`, `- "DB_HOST=pgbouncer" # compose-scale replaced: "DB_HOST=db"`, `- DB_PORT=6432 # compose-scale replaced: DB_PORT=5432   # the default`, `shm_size: "1gb" # compose-scale replaced: "256mb"  # enough`} {
		if !strings.Contains(changed, want) {
			t.Errorf("no %q in:\n%s", want, changed)
		}
	}
	services, err := doc.Services()
	if err != nil {
		t.Fatal(err)
	}
	if services[0].Kept["shm_size"] != "256mb" || services[0].ShmSize != 1<<30 {
		t.Errorf("kept shm_size %q, current %d", services[0].Kept["shm_size"], services[0].ShmSize)
	}
	for _, svc := range []string{"web", "streaming"} {
		must(doc.RemoveEnv(svc, "DB_HOST", "pgbouncer"))
		must(doc.RemoveEnv(svc, "DB_PORT", "6432"))
		must(doc.RemoveEnv(svc, "PREPARED_STATEMENTS", "false"))
	}
	must(doc.RestoreKey("web", "shm_size"))
	if got := string(doc.Bytes()); got != src {
		t.Errorf("not given back byte for byte:\n%s\nwant:\n%s", got, src)
	}

	// Changed by the admin since: theirs now, not restored.
	doc, _ = Parse("c.yml", []byte(src))
	must(doc.SetEnvKeeping("web", "DB_HOST", "pgbouncer"))
	must(doc.SetEnv("web", "DB_HOST", "elsewhere"))
	must(doc.RemoveEnv("web", "DB_HOST", "pgbouncer"))
	if !strings.Contains(string(doc.Bytes()), "DB_HOST: 'elsewhere'") {
		t.Errorf("an entry the admin changed was restored:\n%s", doc.Bytes())
	}
}
