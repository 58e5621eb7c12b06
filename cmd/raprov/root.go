package main

import (
	"github.com/spf13/cobra"
)

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "raprov",
		Short:         "Provision Microsoft Teams Phone resource accounts from events",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(), newServeCmd(), newSubmitCmd(), newStatusCmd(), newDLQCmd(), newGraphsimCmd(), newBenchCmd(), newDoctorCmd(), newLoginCmd())
	return root
}
