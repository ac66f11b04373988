package mastodon

import (
	"testing"
)

func TestSidekiqVersionRules(t *testing.T) {
	for _, tc := range []struct {
		v          string
		major      int
		strict     bool
		duplicates bool
		pools      int
	}{
		{"v2.9.0", 5, false, false, 1},
		{"v3.1.2", 5, false, false, 1},
		{"v3.1.3", 6, false, false, 1},
		{"v3.1.5", 6, true, false, 1},
		{"v4.2.0", 6, true, false, 2},
		{"v4.2.1", 6, true, false, 1},
		{"v4.3.9", 6, true, false, 1},
		{"v4.4.0", 7, true, true, 1},
		{"v4.5.0", 8, true, true, 1},
		{"v4.7.0", 8, true, true, 1},
	} {
		v, err := ParseVersion(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if SidekiqMajor(v) != tc.major || StrictOrder(v) != tc.strict || AcceptsDuplicateQueues(v) != tc.duplicates || PoolsPerProcess(v) != tc.pools {
			t.Errorf("%s: sidekiq %d, strict %v, duplicates %v, pools %d", tc.v, SidekiqMajor(v), StrictOrder(v), AcceptsDuplicateQueues(v), PoolsPerProcess(v))
		}
	}
	if StrictOrder(UnknownVersion) || AcceptsDuplicateQueues(UnknownVersion) || PoolsPerProcess(UnknownVersion) != 2 {
		t.Error("an unknown version is not planned for the worst case")
	}
}
