package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newVersionCmd() *cobra.Command {
	var o outputFormat
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print raprov's version, commit, commit time and Go version (also raprov --version)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return writeVersion(cmd.OutOrStdout(), o, buildVersion())
		},
	}
	addOutputFlag(cmd, &o)
	return cmd
}

// buildVersion reads the version from the build information: the module's
// version, and the vcs.* settings `go build` records in a git checkout.
func buildVersion() versionRecord {
	v := versionRecord{Version: "unknown", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.CommitTime = s.Value
		case "vcs.modified":
			v.Dirty = s.Value == "true"
		}
	}
	return v
}

// writeVersion prints v as a table or JSON.
func writeVersion(out io.Writer, o outputFormat, v versionRecord) error {
	if o.machine() {
		return writeObject(out, o, v)
	}
	or := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "version:\t%s\n", v.Version)
	fmt.Fprintf(tw, "commit:\t%s\n", or(v.Commit))
	fmt.Fprintf(tw, "commit time:\t%s\n", or(v.CommitTime))
	dirty := "unknown"
	if v.Commit != "" {
		dirty = fmt.Sprint(v.Dirty)
	}
	fmt.Fprintf(tw, "dirty:\t%s\n", dirty)
	fmt.Fprintf(tw, "go:\t%s %s\n", v.GoVersion, v.Platform)
	return tw.Flush()
}
