package teamssim

import "time"

// Teams learns of directory changes late: a user created in Entra ID, or
// newly licensed, can take from minutes up to 24 hours to reach Teams
// (Microsoft's resource-account guide; Knobs.TeamsSyncDelay). teamsUser is
// the directory as Teams sees it now.

// teamsUser looks id up in the directory and applies the sync delay: found
// is false for a user the directory does not know (yet) and for one Teams
// has not learned of; Licensed is false until Teams has seen the license.
// It calls the Directory, so callers must not hold s.mu.
func (s *Sim) teamsUser(id string) (DirUser, bool) {
	u, found := s.dir.User(id)
	if !found {
		return DirUser{}, false
	}
	now, delay := s.now(), s.currentKnobs().TeamsSyncDelay
	if !synced(u.CreatedDateTime, now, delay) {
		return DirUser{}, false
	}
	u.Licensed = u.Licensed && synced(u.LicensedDateTime, now, delay)
	return u, true
}

// synced reports whether a change made at t has reached Teams by now; a zero
// t is a change made long ago.
func synced(t, now time.Time, delay time.Duration) bool {
	return t.IsZero() || delay <= 0 || !now.Before(t.Add(delay))
}
