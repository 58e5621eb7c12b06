//go:build linux

package e2e_test

import (
	"cmp"
	"fmt"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	awsinfra "github.com/raprov/raprov/infra/aws"
)

// The functions get the environment template.yaml gives them, read from the
// template itself: Globals' variables, then the function's own, with
// parameters, mappings, conditions and references resolved. A variable the template
// adds reaches the functions here without a change to these tests; one that
// references a parameter without a default and without a value below fails
// the stack's start.

// templatePath is template.yaml, seen from this package's directory.
const templatePath = "../../template.yaml"

// cfnTemplate is the parts of a SAM template these tests read.
type cfnTemplate struct {
	params     map[string]*yaml.Node // Parameters
	conditions map[string]*yaml.Node // Conditions
	mappings   map[string]*yaml.Node // Mappings
	globalEnv  *yaml.Node            // Globals.Function.Environment.Variables
	resources  map[string]*yaml.Node // Resources
}

// cfnValues are what the template's references resolve to in one stack.
type cfnValues struct {
	// Params override parameters' defaults.
	Params map[string]string
	// Pseudo are AWS::Region, AWS::StackName, ...
	Pseudo map[string]string
	// Refs are what !Ref of a resource gives (e.g. the table's name).
	Refs map[string]string
}

// loadTemplate reads template.yaml.
func loadTemplate(path string) (*cfnTemplate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) != 1 {
		return nil, fmt.Errorf("%s: not one YAML document", path)
	}
	root := doc.Content[0]
	t := &cfnTemplate{
		params:     awsinfra.Entries(awsinfra.Get(root, "Parameters")),
		conditions: awsinfra.Entries(awsinfra.Get(root, "Conditions")),
		mappings:   awsinfra.Entries(awsinfra.Get(root, "Mappings")),
		resources:  awsinfra.Entries(awsinfra.Get(root, "Resources")),
		globalEnv:  awsinfra.Get(root, "Globals", "Function", "Environment", "Variables"),
	}
	if t.resources == nil || t.globalEnv == nil {
		return nil, fmt.Errorf("%s: no Resources or Globals.Function.Environment.Variables", path)
	}
	return t, nil
}

// functionResource names step's function resource: check-license →
// CheckLicenseFunction.
func functionResource(step string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(step, "-") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String() + "Function"
}

// functionEnv returns the variables the template sets for step's function,
// resolved with v. A variable whose value is AWS::NoValue is left out.
func (t *cfnTemplate) functionEnv(step string, v cfnValues) (map[string]string, error) {
	fn, ok := t.resources[functionResource(step)]
	if !ok {
		return nil, fmt.Errorf("template: no resource %s", functionResource(step))
	}
	env := map[string]string{}
	for _, vars := range []*yaml.Node{t.globalEnv, awsinfra.Get(fn, "Properties", "Environment", "Variables")} {
		for name, node := range awsinfra.Entries(vars) {
			val, present, err := t.resolve(node, v)
			if err != nil {
				return nil, fmt.Errorf("template: %s of %s: %w", name, functionResource(step), err)
			}
			if present {
				env[name] = val
			} else {
				delete(env, name)
			}
		}
	}
	return env, nil
}

// resolve returns the value of a template value node; present is false for
// AWS::NoValue.
func (t *cfnTemplate) resolve(n *yaml.Node, v cfnValues) (val string, present bool, err error) {
	switch n.Tag {
	case "!Ref":
		return t.ref(n.Value, v)
	case "!Sub":
		s, err := t.sub(n.Value, v)
		return s, err == nil, err
	case "!GetAtt":
		// Resource.Attribute, as the test names it in v.Refs.
		if s, ok := v.Refs[n.Value]; ok {
			return s, true, nil
		}
		return "", false, fmt.Errorf("line %d: !GetAtt %s: unknown to these tests", n.Line, n.Value)
	case "!FindInMap":
		if n.Kind != yaml.SequenceNode || len(n.Content) != 3 {
			return "", false, fmt.Errorf("line %d: !FindInMap needs [map, key, key]", n.Line)
		}
		keys := make([]string, 3)
		for i, c := range n.Content {
			k, _, err := t.resolve(c, v)
			if err != nil {
				return "", false, err
			}
			keys[i] = k
		}
		found := awsinfra.Get(t.mappings[keys[0]], keys[1], keys[2])
		if found == nil {
			return "", false, fmt.Errorf("line %d: mapping %s has no %s.%s", n.Line, keys[0], keys[1], keys[2])
		}
		return t.resolve(found, v)
	case "!If":
		if n.Kind != yaml.SequenceNode || len(n.Content) != 3 {
			return "", false, fmt.Errorf("line %d: !If needs [condition, then, else]", n.Line)
		}
		ok, err := t.condition(n.Content[0].Value, v)
		if err != nil {
			return "", false, err
		}
		if ok {
			return t.resolve(n.Content[1], v)
		}
		return t.resolve(n.Content[2], v)
	}
	if n.Kind != yaml.ScalarNode || strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return "", false, fmt.Errorf("line %d: %s is not resolved by these tests", n.Line, cmp.Or(n.Tag, "this value"))
	}
	return n.Value, true, nil
}

// ref resolves !Ref name: AWS::NoValue, a pseudo parameter, a parameter (its
// value in v, else its default) or a resource in v.Refs.
func (t *cfnTemplate) ref(name string, v cfnValues) (string, bool, error) {
	if name == "AWS::NoValue" {
		return "", false, nil
	}
	if s, ok := v.Pseudo[name]; ok {
		return s, true, nil
	}
	if p, ok := t.params[name]; ok {
		if s, ok := v.Params[name]; ok {
			return s, true, nil
		}
		if d := awsinfra.Get(p, "Default"); d != nil {
			return d.Value, true, nil
		}
		return "", false, fmt.Errorf("parameter %s has no default and the test gives it no value", name)
	}
	if s, ok := v.Refs[name]; ok {
		return s, true, nil
	}
	return "", false, fmt.Errorf("!Ref %s: unknown to these tests", name)
}

var subVar = regexp.MustCompile(`\$\{([^}]+)\}`)

// sub resolves a !Sub string's ${Name} references.
func (t *cfnTemplate) sub(s string, v cfnValues) (string, error) {
	var err error
	out := subVar.ReplaceAllStringFunc(s, func(m string) string {
		val, _, e := t.ref(m[2:len(m)-1], v)
		if e != nil && err == nil {
			err = e
		}
		return val
	})
	return out, err
}

// condition evaluates a named condition: !Not, !Equals, !And, !Or and
// !Condition over references.
func (t *cfnTemplate) condition(name string, v cfnValues) (bool, error) {
	n, ok := t.conditions[name]
	if !ok {
		return false, fmt.Errorf("unknown condition %s", name)
	}
	return t.evalCondition(n, v)
}

func (t *cfnTemplate) evalCondition(n *yaml.Node, v cfnValues) (bool, error) {
	switch n.Tag {
	case "!Condition":
		return t.condition(n.Value, v)
	case "!Not":
		if len(n.Content) != 1 {
			return false, fmt.Errorf("line %d: !Not takes one condition", n.Line)
		}
		ok, err := t.evalCondition(n.Content[0], v)
		return !ok, err
	case "!Equals":
		if len(n.Content) != 2 {
			return false, fmt.Errorf("line %d: !Equals takes two values", n.Line)
		}
		a, _, err := t.resolve(n.Content[0], v)
		if err != nil {
			return false, err
		}
		b, _, err := t.resolve(n.Content[1], v)
		return a == b, err
	case "!And", "!Or":
		and := n.Tag == "!And"
		for _, c := range n.Content {
			ok, err := t.evalCondition(c, v)
			if err != nil {
				return false, err
			}
			if ok != and {
				return ok, nil
			}
		}
		return and, nil
	}
	return false, fmt.Errorf("line %d: condition %s is not evaluated by these tests", n.Line, n.Tag)
}
