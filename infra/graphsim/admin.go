package graphsim

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/raprov/raprov/infra/graphsim/odata"
)

// The admin API under /_sim/ has no authentication: serve it on loopback
// only.

// adminState serves GET /_sim/state.
func (s *Server) adminState(w http.ResponseWriter, r *http.Request) {
	odata.WriteJSON(w, http.StatusOK, s.State())
}

// adminRequests serves GET /_sim/requests: per-route counts and, unless
// ?log=false, the request log.
func (s *Server) adminRequests(w http.ResponseWriter, r *http.Request) {
	body := map[string]any{"counts": s.Counts()}
	if r.URL.Query().Get("log") != "false" {
		body["requests"] = s.Requests()
	}
	odata.WriteJSON(w, http.StatusOK, body)
}

// adminResetRequests serves DELETE /_sim/requests.
func (s *Server) adminResetRequests(w http.ResponseWriter, r *http.Request) {
	s.ResetLog()
	w.WriteHeader(http.StatusNoContent)
}

func adminError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	odata.WriteError(w, r, status, "BadRequest", msg)
}

// adminLicenses serves POST /_sim/licenses {"skuPartNumber","units"}.
func (s *Server) adminLicenses(w http.ResponseWriter, r *http.Request) {
	var body struct {
		SkuPartNumber string `json:"skuPartNumber"`
		Units         int    `json:"units"`
	}
	if !readAdminBody(w, r, &body) {
		return
	}
	sku, err := s.dir.addLicenses(body.SkuPartNumber, body.Units)
	if err != nil {
		adminError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	odata.WriteJSON(w, http.StatusOK, sku)
}

// adminGetKnobs serves GET /_sim/knobs.
func (s *Server) adminGetKnobs(w http.ResponseWriter, r *http.Request) {
	odata.WriteJSON(w, http.StatusOK, s.Knobs())
}

// adminPutKnobs serves PUT /_sim/knobs: fields left out keep their value.
func (s *Server) adminPutKnobs(w http.ResponseWriter, r *http.Request) {
	k := s.Knobs()
	if !readAdminBody(w, r, &k) {
		return
	}
	if err := k.Validate(); err != nil {
		adminError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	s.SetKnobs(k)
	odata.WriteJSON(w, http.StatusOK, k)
}

// faultJSON is Fault's admin API form.
type faultJSON struct {
	Method     string `json:"method"`
	PathPrefix string `json:"pathPrefix"`
	Count      int    `json:"count"`
	Status     int    `json:"status"`
	RetryAfter string `json:"retryAfter"` // Go duration, e.g. "2s"
	Code       string `json:"code"`
	Message    string `json:"message"`
}

// adminFaults serves POST /_sim/faults.
func (s *Server) adminFaults(w http.ResponseWriter, r *http.Request) {
	var f faultJSON
	if !readAdminBody(w, r, &f) {
		return
	}
	var ra time.Duration
	if f.RetryAfter != "" {
		var err error
		if ra, err = time.ParseDuration(f.RetryAfter); err != nil || ra < 0 {
			adminError(w, r, http.StatusBadRequest, "retryAfter: not a duration")
			return
		}
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) || f.Count < 0 {
		adminError(w, r, http.StatusBadRequest, "status must be 4xx or 5xx and count not negative")
		return
	}
	s.InjectFault(Fault{Method: f.Method, PathPrefix: f.PathPrefix, Count: f.Count, Status: f.Status, RetryAfter: ra, Code: f.Code, Message: f.Message})
	w.WriteHeader(http.StatusNoContent)
}

// readAdminBody decodes an admin request's JSON body (at most 64 KiB) into v;
// on failure it answers 400 and returns false.
func readAdminBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(v); err != nil {
		adminError(w, r, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	return true
}
