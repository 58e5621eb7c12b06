package sqs

import "time"

// SetMaxDelay lowers the longest DelaySeconds s sends, so that tests can
// chain delays without waiting 15 minutes.
func SetMaxDelay(s *Sender, d time.Duration) { s.maxDelay = d }

// SetNow sets the clock of s (and of the handlers that send with it).
func SetNow(s *Sender, now func() time.Time) { s.now = now }
