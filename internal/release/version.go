// Package release cuts releases a user can verify offline.
//
// The stages, in the order Build runs them:
//
//  1. Version: the last vX.Y.Z tag reachable from HEAD and the conventional
//     commits since it give the next SemVer 2.0.0 version (feat: minor,
//     fix/perf: patch, breaking: major; --pre rc gives X.Y.Z-rc.N).
//  2. Changelog: Markdown grouped by type, breaking changes first.
//  3. Archives: tar.gz and zip of the build outputs, byte-for-byte
//     reproducible (sorted entries, fixed mtimes from SOURCE_DATE_EPOCH or
//     the commit time, owner 0:0, normalised modes).
//  4. SHA256SUMS over the archives.
//  5. Signatures: one per artifact and one for SHA256SUMS, in cosign's blob
//     format (base64 of the signature), so `cosign verify-blob --key` reads
//     them.
//  6. Provenance: an SLSA v1 statement (in-toto Statement v1) naming the
//     commit, the workflow and the builder, signed in a DSSE envelope.
//
// Verify checks the same artifacts back: digest, signatures and provenance
// subject, naming which one fails.
package release

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/shipgate/shipgate/internal/gate/commits"
)

// Bump is how far a version moves.
type Bump int

const (
	// NoBump: nothing releasable (docs, chore, ...).
	NoBump Bump = iota
	// Patch: fix or perf.
	Patch
	// Minor: feat.
	Minor
	// Major: a breaking change.
	Major
)

func (b Bump) String() string {
	return [...]string{"none", "patch", "minor", "major"}[b]
}

// Tag is a version tag found in the repository.
type Tag struct {
	Name    string
	Version *semver.Version
}

// Tags returns the vX.Y.Z tags (pre-releases included) merged into HEAD,
// highest version first. Tags that are not SemVer are ignored.
func Tags(ctx context.Context, dir string) ([]Tag, error) {
	out, err := commits.Git(ctx, dir, "tag", "--merged", "HEAD", "--list", "v*")
	if err != nil {
		// A repository without commits has no HEAD: no tags.
		if strings.Contains(err.Error(), "malformed object name") {
			return nil, nil
		}
		return nil, err
	}
	var tags []Tag
	for _, name := range strings.Fields(out) {
		v, err := semver.StrictNewVersion(strings.TrimPrefix(name, "v"))
		if err != nil {
			continue
		}
		tags = append(tags, Tag{Name: name, Version: v})
	}
	slices.SortStableFunc(tags, func(a, b Tag) int { return b.Version.Compare(a.Version) })
	return tags, nil
}

// LastStable returns the highest tag without a pre-release, or nil.
func LastStable(tags []Tag) *Tag {
	for i := range tags {
		if tags[i].Version.Prerelease() == "" {
			return &tags[i]
		}
	}
	return nil
}

// BumpFor is the bump the commits call for and a one-line reason. A revert
// of a commit in the same list cancels both; merges are ignored.
func BumpFor(cs []commits.Commit) (Bump, string) {
	effective := Effective(cs)
	b := NoBump
	count := map[string]int{}
	for _, c := range effective {
		var cb Bump
		switch {
		case c.Breaking:
			cb, count["breaking"] = Major, count["breaking"]+1
		case c.Type == "feat":
			cb, count["feat"] = Minor, count["feat"]+1
		case c.Type == "fix" || c.Type == "perf":
			cb, count[c.Type] = Patch, count[c.Type]+1
		case c.Revert:
			cb, count["revert"] = Patch, count["revert"]+1
		}
		b = max(b, cb)
	}
	var parts []string
	for _, k := range []string{"breaking", "feat", "fix", "perf", "revert"} {
		if count[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", count[k], k))
		}
	}
	if len(parts) == 0 {
		return NoBump, "no feat, fix, perf, revert or breaking commits"
	}
	return b, strings.Join(parts, ", ")
}

// Effective drops merges, invalid messages, and every pair of a commit and
// its revert when both are in cs.
func Effective(cs []commits.Commit) []commits.Commit {
	reverted := map[string]bool{}
	revertOf := map[int]bool{}
	for i, c := range cs {
		if !c.Revert {
			continue
		}
		for _, o := range cs[:i] {
			if (c.Reverts != "" && strings.HasPrefix(o.Hash, c.Reverts)) || (c.Reverts == "" && c.RevertedHeader != "" && o.Header == c.RevertedHeader) {
				reverted[o.Hash] = true
				revertOf[i] = true
			}
		}
	}
	var out []commits.Commit
	for i, c := range cs {
		if c.Merge || !c.Valid || reverted[c.Hash] || revertOf[i] {
			continue
		}
		out = append(out, c)
	}
	return out
}

// Next is the version after cur (nil: none released yet, counted from
// 0.0.0) for bump b. With pre set ("rc"), it is the pre-release
// <next>-<pre>.N, N one more than the highest such tag in tags.
func Next(cur *semver.Version, b Bump, pre string, tags []Tag) (*semver.Version, error) {
	base := semver.MustParse("0.0.0")
	if cur != nil {
		base = cur
	}
	var v semver.Version
	switch b {
	case Major:
		v = base.IncMajor()
	case Minor:
		v = base.IncMinor()
	case Patch:
		v = base.IncPatch()
	default:
		return nil, fmt.Errorf("nothing to release")
	}
	if pre == "" {
		return &v, nil
	}
	if strings.ContainsAny(pre, ". +") {
		return nil, fmt.Errorf("pre-release label %q must be one identifier such as rc, beta or alpha", pre)
	}
	n := 0
	for _, t := range tags {
		tv := t.Version
		if tv.Major() == v.Major() && tv.Minor() == v.Minor() && tv.Patch() == v.Patch() {
			label, num, ok := strings.Cut(tv.Prerelease(), ".")
			if k, err := strconv.Atoi(num); ok && label == pre && err == nil && k > n {
				n = k
			}
		}
	}
	pv, err := v.SetPrerelease(fmt.Sprintf("%s.%d", pre, n+1))
	if err != nil {
		return nil, err
	}
	return &pv, nil
}
