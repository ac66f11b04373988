package helm

import (
	"strings"
	"testing"
)

func TestReadValues(t *testing.T) {
	r, err := ReadValues("v.yaml", []byte(`image: {tag: v4.5.3}
postgresql: {hostname: pg, database: mastodon_production}
redis: {cache: {hostname: rc, existingSecret: s}}
mastodon:
  extraEnvVars: {DB_POOL: "25"}
  web:
    topologySpreadConstraints: [{maxSkew: 2}]
  sidekiq:
    workers:
      - {name: a, nodeSelector: {pool: w}, queues: [default]}
      - {name: b, nodeSelector: {pool: w}, queues: [push]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if r.ImageTag != "v4.5.3" || r.DBHost != "pg" || r.DBName != "mastodon_production" || r.CacheHost != "rc" || !r.CacheAuth {
		t.Errorf("read %+v", r)
	}
	if r.Kept.All == nil || r.Kept.ByName["b"]["nodeSelector"] == nil {
		t.Errorf("kept %+v", r.Kept)
	}
	w := strings.Join(r.Warnings, "\n")
	for _, want := range []string{"DB_POOL in mastodon.extraEnvVars", "mastodon.web.topologySpreadConstraints"} {
		if !strings.Contains(w, want) {
			t.Errorf("no warning %q in %q", want, w)
		}
	}
	if _, err := ReadValues("v.yaml", []byte("a: [")); err == nil {
		t.Error("broken YAML read")
	}
}

func TestWorkerName(t *testing.T) {
	for in, want := range map[string]string{
		"sidekiq":                            "all-queues",
		"sidekiq-default-push":               "default-push",
		"sidekiq-" + strings.Repeat("x", 70): strings.Repeat("x", 55),
	} {
		if got := WorkerName(in); got != want {
			t.Errorf("WorkerName(%q) = %q, want %q", in, got, want)
		}
	}
}
