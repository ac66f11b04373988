package mastodon

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is a Mastodon release, major.minor.patch. Pre-release suffixes
// (-rc.1, -beta2) are dropped: queue sets and pool rules change only between
// minor releases.
type Version struct {
	Major, Minor, Patch int
	// Unknown is a deployment whose version nothing says (a :latest tag,
	// a fork, a build with no source beside the file). It is planned to be
	// right under the rules of every version from Oldest to Newest, or
	// from its floor when the file shows one.
	Unknown bool
	// FloorMajor.FloorMinor is the oldest release an unknown version can
	// be (a separate mastodon-streaming image exists from 4.3); 0.0 when
	// nothing narrows it.
	FloorMajor, FloorMinor int
	// NewestPatch is a moving minor tag (v4.2, 4.3-slim): the newest
	// patch of that minor, whichever it is when the image is pulled.
	NewestPatch bool
}

// Oldest and Newest bound the versions compose-scale knows the rules of.
var (
	Oldest = Version{Major: 2, Minor: 9}
	Newest = Version{Major: 4, Minor: 7}
)

// UnknownVersion is the version of a file that does not say.
var UnknownVersion = Version{Unknown: true}

func (v Version) String() string {
	if v.Unknown && v.FloorMajor > 0 {
		return fmt.Sprintf("unknown, v%d.%d or later", v.FloorMajor, v.FloorMinor)
	}
	if v.Unknown {
		return "unknown"
	}
	if v.NewestPatch {
		return fmt.Sprintf("v%d.%d (its newest patch)", v.Major, v.Minor)
	}
	return fmt.Sprintf("v%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// AtLeast reports whether v is major.minor or later. An unknown version
// is at least its floor and no more: a rule that starts later does not
// hold for it, so callers that want "every version" handle Unknown first.
func (v Version) AtLeast(major, minor int) bool {
	if v.Unknown {
		return v.FloorMajor > major || v.FloorMajor == major && v.FloorMinor >= minor
	}
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// AtLeastPatch reports whether v is major.minor.patch or later.
func (v Version) AtLeastPatch(major, minor, patch int) bool {
	if v.Unknown {
		// A floor is a minor release: x.y.0.
		return v.AtLeast(major, minor) && (v.FloorMajor != major || v.FloorMinor != minor || patch == 0)
	}
	if v.Major != major || v.Minor != minor {
		return v.AtLeast(major, minor)
	}
	return v.NewestPatch || v.Patch >= patch
}

// ParseVersion reads "v4.3", "4.3.0", "v3.4.6-rc.1".
func ParseVersion(s string) (Version, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexAny(t, "-+"); i >= 0 {
		t = t[:i]
	}
	parts := strings.Split(t, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("%q is not a Mastodon version: want vMAJOR.MINOR or vMAJOR.MINOR.PATCH, for example v4.3", s)
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 {
			return Version{}, fmt.Errorf("%q is not a Mastodon version: want vMAJOR.MINOR or vMAJOR.MINOR.PATCH, for example v4.3", s)
		}
		n[i] = x
	}
	return Version{Major: n[0], Minor: n[1], Patch: n[2]}, nil
}

// VersionFromImage reads the Mastodon version from an image reference such as
// ghcr.io/mastodon/mastodon:v4.3.0 or tootsuite/mastodon:v3.4.6. It reports
// false when the image has no tag, a moving tag (latest, edge, nightly) or a
// tag that is not a version, since guessing would size the wrong queues.
func VersionFromImage(image string) (Version, bool) {
	ref, ok := ExpandDefaults(image)
	if !ok {
		return Version{}, false
	}
	if i := strings.Index(ref, "@"); i >= 0 { // digest pins carry no version
		ref = ref[:i]
	}
	slash := strings.LastIndex(ref, "/")
	colon := strings.LastIndex(ref, ":")
	if colon <= slash {
		return Version{}, false
	}
	tag := ref[colon+1:]
	v, err := ParseVersion(tag)
	if err != nil {
		return Version{}, false
	}
	// v4.2 and 4.3-slim move with each patch release: the image is the
	// newest patch of the minor, not its .0.
	core := strings.TrimPrefix(tag, "v")
	if i := strings.IndexAny(core, "-+"); i >= 0 {
		core = core[:i]
	}
	v.NewestPatch = strings.Count(core, ".") == 1
	return v, true
}

var varRef = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}`)

// ExpandDefaults replaces ${VAR:-default} and ${VAR-default} by their
// defaults, which is what the file says when the variable is unset; the
// environment is never read. A ${VAR} without a default cannot be known.
func ExpandDefaults(s string) (string, bool) {
	ok := true
	out := varRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := varRef.FindStringSubmatch(m)
		if !strings.Contains(m, "-") {
			ok = false
			return m
		}
		return sub[1]
	})
	return out, ok
}

var rubyVersionPart = regexp.MustCompile(`def (major|minor|patch)\s*;?\s*(\d+)`)

// VersionFromRuby reads Mastodon's lib/mastodon/version.rb, which a build
// context holds when the image has no tag (Hometown builds from source).
func VersionFromRuby(src string) (Version, bool) {
	var v Version
	found := map[string]bool{}
	for _, m := range rubyVersionPart.FindAllStringSubmatch(src, -1) {
		n, _ := strconv.Atoi(m[2])
		switch m[1] {
		case "major":
			v.Major = n
		case "minor":
			v.Minor = n
		case "patch":
			v.Patch = n
		}
		found[m[1]] = true
	}
	return v, found["major"] && found["minor"]
}
