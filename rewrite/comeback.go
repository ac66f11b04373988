package rewrite

import (
	"slices"
	"strconv"
	"strings"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/planner"
)

// addedMark is the comment above a service compose-scale adds to an
// admin's own split. Such services are compose-scale's: every run plans
// from the admin's services alone and adds them again, so a split grown
// on one machine grows on a bigger one as it would have directly.
const addedMark = "added by compose-scale to the file's own split: planned again on every run (change the services it was added to instead)"

// keptHeader is what the kept block says to the admin.
const keptHeader = "the sidekiq services below were merged for a smaller machine; they come back when it grows (delete these lines to forget them)"

// A shrink merges sidekiq services; the admin's own split (names, queue
// sets, per-service settings) would be lost for good, and growing again
// would plan compose-scale's split instead of theirs. So the services as
// they were before the merge are kept in a comment block at the end of
// services:, and every run starts from them: the sidekiq services the
// file has now (what the merge made of them) are set aside and the kept
// ones put back where the first of them is. A plan at any size is then
// made from the same services, and a shrink followed by a grow equals
// planning for the final size directly.

// restoreKept is src with its kept services back in place of the
// sidekiq services it has now; had is false (src unchanged) when it keeps
// none, or when they cannot come back (the block does not read, or a
// service it holds exists already): then the file is planned as it is.
func restoreKept(path string, src []byte) (restored []byte, had bool) {
	src = withoutAdded(path, src)
	kept, rest, ok := compose.KeptServices(src)
	if !ok {
		return src, false
	}
	doc, err := compose.Parse(path, rest)
	if err != nil {
		return src, false
	}
	now, err := doc.Services()
	if err != nil {
		return src, false
	}
	keptDoc, err := compose.ParseService(path, kept)
	if err != nil {
		return src, false
	}
	keptSvcs, err := keptDoc.Services()
	if err != nil || len(keptSvcs) == 0 {
		return src, false
	}
	var current []compose.Service
	names := map[string]bool{}
	for _, s := range now {
		names[s.Name] = true
		if planner.IsSidekiq(s.Command) {
			current = append(current, s)
		}
	}
	if len(current) == 0 {
		return src, false
	}
	currentNames := map[string]bool{}
	for _, s := range current {
		currentNames[s.Name] = true
	}
	for _, s := range keptSvcs {
		if names[s.Name] && !currentNames[s.Name] {
			return src, false // the admin has a service of that name now
		}
	}
	// Where the first of them is: after the service before it, or
	// before the service after it when it is the first.
	prev, next := "", ""
	for i, s := range now {
		if s.Name == current[0].Name {
			if i > 0 {
				prev = now[i-1].Name
			}
			for _, n := range now[i+1:] {
				if !currentNames[n.Name] {
					next = n.Name
					break
				}
			}
			break
		}
	}
	for _, s := range current {
		if err := doc.RemoveService(s.Name); err != nil {
			return src, false
		}
	}
	switch {
	case prev != "":
		err = doc.InsertServiceTextAfter(prev, kept)
	case next != "":
		err = doc.InsertServiceTextBefore(next, kept)
	default:
		return src, false // sidekiq alone in the file: nothing to put it beside
	}
	if err != nil {
		return src, false
	}
	// The image is the one setting an admin changes on the merged
	// service between a shrink and a grow (an upgrade): the kept
	// services take it when they all had one image and the file's
	// sidekiq services all have another.
	if img, ok := oneImage(current); ok {
		if old, ok := oneImage(keptSvcs); ok && old != img && img != "" && old != "" {
			for _, s := range keptSvcs {
				if err := doc.SetKey(s.Name, "image", img); err != nil {
					return src, false
				}
			}
		}
	}
	return withoutAdded(path, doc.Bytes()), true
}

// withoutAdded is src without the services compose-scale added to the
// admin's split (addedMark above them); src when there are none, or they
// cannot go.
func withoutAdded(path string, src []byte) []byte {
	if !strings.Contains(string(src), addedMark) {
		return src
	}
	doc, err := compose.Parse(path, src)
	if err != nil {
		return src
	}
	svcs, err := doc.Services()
	if err != nil {
		return src
	}
	for _, s := range svcs {
		if planner.IsSidekiq(s.Command) && slices.Contains(doc.ServiceComments(s.Name), addedMark) {
			if doc.RemoveService(s.Name) != nil {
				return src
			}
		}
	}
	return doc.Bytes()
}

// markAdded puts addedMark above the services the plan adds to the
// admin's own split.
func markAdded(doc *compose.Document, plan *planner.Plan) error {
	if !plan.OwnSplit {
		return nil
	}
	sidekiq := map[string]bool{}
	for _, p := range plan.Sidekiq {
		sidekiq[p.Name] = true
	}
	for _, c := range plan.Changes {
		if c.Kind == planner.Clone && sidekiq[c.To] {
			if err := doc.CommentService(c.To, addedMark); err != nil {
				return err
			}
		}
	}
	return nil
}

// keepMerged appends to out, the rewritten file, the sidekiq services of
// the file the plan was made from (restored: their text there) when they
// are the admin's own split and the plan removes any of them.
func keepMerged(path string, restored, out []byte, plan *planner.Plan) []byte {
	if !plan.OwnSplit {
		return out // compose-scale's own layout: any size plans it again
	}
	from, err := compose.Parse(path, restored)
	if err != nil {
		return out
	}
	svcs, err := from.Services()
	if err != nil {
		return out
	}
	// What loses the split: a service removed or renamed into another,
	// or its replicas lowered.
	lost := map[string]bool{}
	replicas := map[string]int{}
	for _, s := range svcs {
		replicas[s.Name] = max(s.Replicas, 1)
	}
	for _, c := range plan.Changes {
		switch c.Kind {
		case planner.Remove, planner.Rename:
			lost[c.Service] = true
		case planner.SetReplicas:
			if n, err := strconv.Atoi(c.Value); err == nil && n < replicas[c.Service] {
				lost[c.Service] = true
			}
		}
	}
	// What the plan takes off every sidekiq service (a pooler's or a
	// cache's entries, when they go) comes off the kept ones too: they
	// are kept as this plan leaves a service, not as the last one did.
	for _, c := range plan.Changes {
		if c.Kind != planner.RemoveEnv {
			continue
		}
		for _, s := range svcs {
			if planner.IsSidekiq(s.Command) {
				if err := from.RemoveEnv(s.Name, c.Key, c.Value); err != nil {
					return out
				}
			}
		}
	}
	var text strings.Builder
	merges := false
	for _, s := range svcs {
		if !planner.IsSidekiq(s.Command) {
			continue
		}
		merges = merges || lost[s.Name]
		block, ok := from.ServiceBlock(s.Name)
		if !ok {
			return out
		}
		if text.Len() > 0 {
			text.WriteString("\n") // services are a blank line apart
		}
		text.WriteString(block)
	}
	if !merges {
		return out
	}
	doc, err := compose.Parse(path, out)
	if err != nil || doc.AppendKept(keptHeader, text.String()) != nil {
		return out
	}
	return doc.Bytes()
}

func oneImage(ss []compose.Service) (string, bool) {
	if len(ss) == 0 {
		return "", false
	}
	for _, s := range ss[1:] {
		if s.Image != ss[0].Image {
			return "", false
		}
	}
	return ss[0].Image, true
}
