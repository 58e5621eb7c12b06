package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/raprov/raprov/events"
)

// waitForTeams parks a request whose account Teams does not know yet.
// Microsoft documents that a new or newly licensed account can take from
// minutes up to 24 hours to reach Teams; until then binding, number
// assignment and association fail as "not found". It re-emits next to its
// own step after a growing delay (cfg.TeamsSyncRecheck) until
// cfg.TeamsSyncWait has passed since the step first found Teams behind,
// then fails the request with reason and dead-letters the input, so that
// once Teams has caught up an operator can replay it and the request
// continues where it stopped (a replay starts a new wait). what says what
// Teams did not know.
func waitForTeams(ctx context.Context, cfg Config, next events.Event, reason events.Reason, what string) ([]events.Event, error) {
	now := cfg.Now().UTC()
	p := &next.Data.Progress
	if p.TeamsWaitSince.IsZero() || p.TeamsWaitReplay != next.ReplayCount {
		p.TeamsWaitSince, p.TeamsWaits, p.TeamsWaitReplay = now, 0, next.ReplayCount
	}
	waited := now.Sub(p.TeamsWaitSince)
	if waited >= cfg.TeamsSyncWait {
		msg := fmt.Sprintf("%s after waiting %s for Teams to learn of the account", what, cfg.TeamsSyncWait)
		failed := next.Fail(next.Source, events.Failure{Reason: reason, Message: msg})
		return nil, &DeadLetterError{Reason: string(reason), Detail: msg, Emit: []events.Event{failed}}
	}
	next.Delay = min(cfg.TeamsSyncRecheck.Delay(p.TeamsWaits), cfg.TeamsSyncWait-waited)
	p.TeamsWaits++
	LoggerFrom(ctx).InfoContext(ctx, "waiting for Teams to learn of the account", "detail", what,
		"delay_ms", next.Delay.Milliseconds(), "waits", p.TeamsWaits)
	return []events.Event{next}, nil
}

// teamsSynced clears the Teams wait of a step that got past it, so the next
// step's wait is counted from its own start.
func teamsSynced(p *events.Progress) {
	p.TeamsWaitSince, p.TeamsWaits, p.TeamsWaitReplay = time.Time{}, 0, 0
}

// sameID reports whether two object or application ids are equal (GUIDs,
// compared case-insensitively).
func sameID(a, b string) bool { return strings.EqualFold(a, b) }
