package teamsauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// Secret is a string that never prints: fmt verbs, %#v, encoding/json,
// encoding.TextMarshaler and log/slog all render it as "[REDACTED]".
type Secret string

const redacted = "[REDACTED]"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return `teamsauth.Secret("` + redacted + `")` }

// Format implements fmt.Formatter, covering every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Token is a stored sign-in: the refresh token and what it was issued for.
type Token struct {
	RefreshToken Secret
	// Account is who signed in (the ID token's preferred_username), for
	// messages; empty when unknown.
	Account string
	// AuthorityHost, TenantID, ClientID and Scope are the sign-in's
	// endpoint; a credential for another endpoint refuses the token.
	AuthorityHost string
	TenantID      string
	ClientID      string
	Scope         string
	// SignedIn is when the admin signed in; Refreshed when the refresh
	// token was last rotated.
	SignedIn  time.Time
	Refreshed time.Time
}

// Store keeps one Token. Implementations must be safe for concurrent use
// and Save must replace the token atomically: a reader sees the old token
// or the new one, never a mix. Load returns an error wrapping ErrNoToken
// when nothing is stored.
type Store interface {
	Load(ctx context.Context) (Token, error)
	Save(ctx context.Context, t Token) error
}

// ErrNoToken is wrapped by Store.Load when no sign-in is stored.
var ErrNoToken = errors.New("no stored sign-in")

// FileStore keeps the token in a JSON file of mode 0600. It refuses to read
// a file that group or others may access (on Unix-like systems).
type FileStore struct {
	Path string
}

var _ Store = FileStore{}

// String names the store in messages.
func (f FileStore) String() string { return "token file " + f.Path }

// fileVersion is the format of the token file.
const fileVersion = 1

// maxFile bounds the token file.
const maxFile = 64 << 10

type fileToken struct {
	Version       int       `json:"version"`
	AuthorityHost string    `json:"authorityHost"`
	TenantID      string    `json:"tenantId"`
	ClientID      string    `json:"clientId"`
	Scope         string    `json:"scope"`
	Account       string    `json:"account,omitempty"`
	SignedIn      time.Time `json:"signedIn"`
	Refreshed     time.Time `json:"refreshed,omitzero"`
	RefreshToken  string    `json:"refreshToken"`
}

// Load reads the token file.
func (f FileStore) Load(_ context.Context) (Token, error) {
	fh, err := os.Open(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return Token{}, fmt.Errorf("%s: %w", f, ErrNoToken)
	}
	if err != nil {
		return Token{}, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return Token{}, err
	}
	if !st.Mode().IsRegular() {
		return Token{}, &Error{Op: "load", Message: fmt.Sprintf("%s is not a regular file", f)}
	}
	if perm := st.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return Token{}, &Error{Op: "load", Message: fmt.Sprintf(
			"%s is accessible by group or others (mode %04o): refusing to use it; restrict it with chmod 600 %s, "+
				"or delete it and run \"raprov login\" again", f, perm, f.Path)}
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxFile))
	if err != nil {
		return Token{}, err
	}
	var ft fileToken
	if err := json.Unmarshal(data, &ft); err != nil || ft.Version != fileVersion || ft.RefreshToken == "" {
		// json's errors quote offsets and types, never values.
		return Token{}, &Error{Op: "load", Message: fmt.Sprintf("%s is not a raprov sign-in (version %d); run \"raprov login\" again", f, fileVersion)}
	}
	return Token{
		RefreshToken:  Secret(ft.RefreshToken),
		Account:       ft.Account,
		AuthorityHost: ft.AuthorityHost,
		TenantID:      ft.TenantID,
		ClientID:      ft.ClientID,
		Scope:         ft.Scope,
		SignedIn:      ft.SignedIn,
		Refreshed:     ft.Refreshed,
	}, nil
}

// Save writes t to a temporary file of mode 0600 beside Path, flushes it
// and renames it over Path, creating the directory (0700) if needed.
func (f FileStore) Save(_ context.Context, t Token) (err error) {
	data, err := json.MarshalIndent(fileToken{
		Version:       fileVersion,
		AuthorityHost: t.AuthorityHost,
		TenantID:      t.TenantID,
		ClientID:      t.ClientID,
		Scope:         t.Scope,
		Account:       t.Account,
		SignedIn:      t.SignedIn.UTC(),
		Refreshed:     t.Refreshed.UTC(),
		RefreshToken:  t.RefreshToken.Reveal(),
	}, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(f.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.Path)+".*") // mode 0600
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), f.Path)
}
