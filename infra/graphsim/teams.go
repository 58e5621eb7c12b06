package graphsim

import (
	"github.com/raprov/raprov/infra/graphsim/teamssim"
)

// defaultTeamsSeed is the Teams side of DefaultSeed.
func defaultTeamsSeed() teamssim.Seed { return teamssim.DefaultSeed() }

// mountTeams creates the Teams simulator over the directory and registers
// its routes: Graph telephone number management and the Teams admin back
// end's application-instance endpoints.
func (s *Server) mountTeams() {
	s.teams = teamssim.New(teamssim.Config{
		Directory:          s.dir,
		Seed:               s.cfg.Seed.Teams,
		OperationStepDelay: s.cfg.Knobs.OperationStepDelay,
		Now:                s.clock.Now,
		// Read on every use, so PUT /_sim/knobs and SetKnobs apply at once.
		KnobsFunc: func() teamssim.Knobs {
			k := s.Knobs()
			return teamssim.Knobs{TeamsSyncDelay: k.TeamsSyncDelay, WrapOperations: k.WrapOperations}
		},
	})
	s.teams.Register(s.mux)
}

func (s *Server) teamsState() teamssim.State { return s.teams.State() }

// Teams returns the mounted Teams simulator, e.g. to add numbers or make
// assignments fail.
func (s *Server) Teams() *teamssim.Sim { return s.teams }
