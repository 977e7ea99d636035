package handle

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// DefaultStatePath returns the hint file path of the export exportKey:
// $XDG_STATE_HOME/burrow/<hex key>.db. If XDG_STATE_HOME is unset or
// relative, it uses ~/.local/state instead, as the XDG Base Directory
// Specification requires.
func DefaultStatePath(exportKey [8]byte) (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find state directory: XDG_STATE_HOME is not set and %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "burrow", hex.EncodeToString(exportKey[:])+".db"), nil
}
