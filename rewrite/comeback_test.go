package rewrite

import (
	"strings"
	"testing"

	"github.com/aymanbagabas/go-udiff"
)

// An admin's split merged on a small machine comes back, byte for byte,
// when the machine grows again, and takes the image the admin upgraded
// to in between; deleting the kept block forgets it.
func TestHandSplitComesBack(t *testing.T) {
	path, src := fixture(t, "handsplit-v3.4")
	rewrite := func(text []byte, droplet string) []byte {
		t.Helper()
		res, err := Rewrite(path, text, input(t, droplet, ""))
		if err != nil {
			t.Fatal(err)
		}
		return res.Output
	}
	big := rewrite(src, "s-4vcpu-8gb")
	small := rewrite(big, "s-1vcpu-2gb")
	if !strings.Contains(string(small), "# compose-scale kept: ") || strings.Count(string(small), "\n  #~ sidekiq-") != 6 {
		t.Fatalf("the merge keeps no block of the 6 services:\n%s", small)
	}
	if again := rewrite(small, "s-1vcpu-2gb"); string(again) != string(small) {
		t.Errorf("re-running the small file is not a no-op:\n%s", udiff.Unified("first", "second", string(small), string(again)))
	}
	if back := rewrite(small, "s-4vcpu-8gb"); string(back) != string(big) {
		t.Errorf("growing again is not the direct rewrite:\n%s", udiff.Unified("direct", "grown", string(big), string(back)))
	}
	// An upgrade while small: the merged service's image is bumped.
	at := strings.Index(string(small), "\n  sidekiq:\n")
	if at < 0 {
		t.Fatalf("no merged sidekiq service:\n%s", small)
	}
	upgraded := string(small[:at]) + strings.Replace(string(small[at:]), "image: tootsuite/mastodon:v3.4.6", "image: tootsuite/mastodon:v3.4.10", 1)
	if upgraded == string(small) {
		t.Fatal("the merged service's image line is not where the test expects it")
	}
	grown := string(rewrite([]byte(upgraded), "s-4vcpu-8gb"))
	direct := string(rewrite([]byte(strings.ReplaceAll(string(src), "tootsuite/mastodon:v3.4.6", "tootsuite/mastodon:v3.4.10")), "s-4vcpu-8gb"))
	// web and streaming keep their own (older) tag in the upgraded file.
	direct = strings.Replace(direct, "tootsuite/mastodon:v3.4.10", "tootsuite/mastodon:v3.4.6", 2)
	if sidekiqImages(grown) != sidekiqImages(direct) || !strings.Contains(grown, "v3.4.10") {
		t.Errorf("the services that came back do not run the upgraded image:\n%s", udiff.Unified("direct", "grown", direct, grown))
	}
	// Deleting the block forgets the split.
	var forgot []string
	for _, l := range strings.SplitAfter(string(small), "\n") {
		if !strings.HasPrefix(l, "  #~") && !strings.HasPrefix(l, "  # compose-scale kept: ") {
			forgot = append(forgot, l)
		}
	}
	if strings.Contains(string(rewrite([]byte(strings.Join(forgot, "")), "s-4vcpu-8gb")), "sidekiq-pull-default-push:") {
		t.Errorf("without the block, the admin's split still came back")
	}
}

// sidekiqImages lists the image lines of the services named sidekiq*.
func sidekiqImages(text string) string {
	var out []string
	in := false
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   ") {
			in = strings.HasPrefix(l, "  sidekiq")
		}
		if in && strings.HasPrefix(strings.TrimSpace(l), "image:") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "\n")
}
