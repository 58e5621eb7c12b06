// Package validate checks and normalises provisioning requests (DESIGN §1)
// before they enter the chain.
//
// It is kept apart from package events because it links the phone number
// library github.com/nyaruka/phonenumbers, which adds about 5 MB to a binary
// and 12 ms of metadata loading to every cold start (measured with Go 1.26 on
// linux/arm64). Only intake and the operator CLI need it; the other steps'
// Lambda binaries stay small.
package validate
