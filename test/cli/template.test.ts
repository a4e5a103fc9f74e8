import { expect } from 'chai';
import { UsageError } from '../../lib/errors.js';
import { checkTemplate, renderTemplate } from '../../lib/cli/template.js';

const data = {
  Name: 'web',
  ID: 'abc123',
  Size: 1234,
  Ratio: 0.25,
  Big: 1234567.5,
  Neg: -3,
  Ok: true,
  No: false,
  Nil: null,
  Empty: '',
  List: ['a', 'b', 'c'],
  Nums: [1, 2, 3],
  EmptyList: [] as string[],
  Labels: { 'org.opencontainers.image.title': 'web', maintainer: 'me', a: '1' },
  NoLabels: {},
  Config: {
    Env: ['PATH=/usr/bin', 'A=1'],
    Entrypoint: ['/bin/sh', '-c', 'run'],
    ExposedPorts: { '80/tcp': {}, '53/udp': {} },
    Volumes: { '/data': {} },
    Labels: { x: 'y' },
    Healthcheck: { Test: ['CMD', 'true'], Interval: 30000000000 },
  },
  Mixed: { n: 1, s: 'x', l: [1, 'two'], m: { k: 'v' }, z: null },
  Rows: [
    { Name: 'one', Tags: ['t1', 't2'] },
    { Name: 'two', Tags: [] },
  ],
};

describe('cli/template renderTemplate', () => {
  const cases: [string, string][] = [
    // literal text and fields
    ['', ''],
    ['plain text', 'plain text'],
    ['{{.Name}}', 'web'],
    ['id={{.ID}} name={{.Name}}', 'id=abc123 name=web'],
    ['{{.Config.Healthcheck.Interval}}', '30000000000'],
    ['{{ .Name }}', 'web'],
    // Go formatting of values
    ['{{.Size}}', '1234'],
    ['{{.Ratio}}', '0.25'],
    ['{{.Big}}', '1.2345675e+06'],
    ['{{.Neg}}', '-3'],
    ['{{.Ok}} {{.No}}', 'true false'],
    ['{{.Nil}}', '<no value>'],
    ['{{.Missing}}', '<no value>'],
    ['{{.Missing.Deeper}}', '<no value>'],
    ['[{{.Empty}}]', '[]'],
    ['{{.List}}', '[a b c]'],
    ['{{.Nums}}', '[1 2 3]'],
    ['{{.EmptyList}}', '[]'],
    ['{{.Config.Entrypoint}}', '[/bin/sh -c run]'],
    ['{{.Labels}}', 'map[a:1 maintainer:me org.opencontainers.image.title:web]'],
    ['{{.NoLabels}}', 'map[]'],
    ['{{.Config.ExposedPorts}}', 'map[53/udp:{} 80/tcp:{}]'],
    ['{{.Config.Volumes}}', 'map[/data:{}]'],
    ['{{.Mixed}}', 'map[l:[1 two] m:map[k:v] n:1 s:x z:<nil>]'],
    ['{{.Config.Healthcheck}}', 'map[Interval:30000000000 Test:[CMD true]]'],
    // index
    ['{{index .Labels "org.opencontainers.image.title"}}', 'web'],
    ['[{{index .Labels "nope"}}]', '[]'],
    ['[{{index .NoLabels "nope"}}]', '[]'],
    ['[{{index .MissingMap "nope"}}]', '[]'],
    ['{{index .Mixed "nope"}}', '<no value>'],
    ['{{index .List 1}}', 'b'],
    ['{{index .Rows 1 "Name"}}', 'two'],
    ['{{(index .Rows 0).Name}}', 'one'],
    ['{{.Config.Labels.x}}', 'y'],
    ['{{.Config.Labels.nope}}', '<no value>'],
    // functions
    ['{{json .Labels}}', '{"org.opencontainers.image.title":"web","maintainer":"me","a":"1"}'],
    ['{{json .List}}', '["a","b","c"]'],
    ['{{json .Name}}', '"web"'],
    ['{{json .Missing}}', 'null'],
    ['{{json "<&>"}}', '"<&>"'],
    ['{{join .List ","}}', 'a,b,c'],
    ['{{join .List ", "}}', 'a, b, c'],
    ['[{{join .EmptyList ","}}]', '[]'],
    ['[{{join .Missing ","}}]', '[]'],
    ['{{len .List}} {{len .Labels}} {{len .Name}} {{len .EmptyList}} {{len .Missing}}', '3 3 3 0 0'],
    ['{{upper .Name}} {{lower "MiXeD"}} {{title "hello wide world"}}', 'WEB mixed Hello Wide World'],
    ['{{split "a:b:c" ":"}}', '[a b c]'],
    ['{{pad .Name 2 1}}|{{pad "" 2 1}}|', '  web ||'],
    ['{{truncate "abcdef" 3}} {{truncate "ab" 3}}', 'abc ab'],
    ['{{println .Name}}', 'web\n'],
    ['{{println .Name .Size .List}}', 'web 1234 [a b c]\n'],
    ['{{println}}', '\n'],
    ['{{println .Nil}}', '<nil>\n'],
    ['{{print "a" "b" 1 2 "c"}}', 'ab1 2c'],
    ['{{printf "%s:%d" .Name .Size}}', 'web:1234'],
    ['{{printf "%-5s|%5s|%05d|%x|%X|%q|%v|%t|%.2f|%%" "ab" "cd" 42 255 255 "q\\"" .List true 3.14159}}', 'ab   |   cd|00042|ff|FF|"q\\""|[a b c]|true|3.14|%'],
    ['{{printf "%d" "x"}}', '%!d(string=x)'],
    ['{{printf "%s %s" "a"}}', 'a %!s(MISSING)'],
    ['{{not .Ok}} {{not .Empty}}', 'false true'],
    ['{{and .Ok .Name}} {{and .No .Name}} {{or .Empty .Name}} {{or .Nil .Empty}}', 'web false web '],
    ['{{and .No .Missing.X}}', 'false'],
    ['{{eq .Name "web"}} {{eq .Size 1234}} {{eq .Name "a" "b" "web"}} {{ne .Name "x"}}', 'true true true true'],
    ['{{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}', 'true true true false'],
    ['{{eq .Nil nil}} {{eq .Missing nil}} {{eq .Name nil}}', 'true true false'],
    ['{{slice .List 1 3}} {{slice "hello" 1 3}}', '[b c] el'],
    // pipelines
    ['{{.List | len}}', '3'],
    ['{{.Name | upper | printf "<%s>"}}', '<WEB>'],
    ['{{"a b" | split " " | len}}', '1'],
    ['{{len (index .Rows 0).Tags}}', '2'],
    ['{{printf "%s=%d" (upper .Name) (len .List)}}', 'WEB=3'],
    // constants
    ['{{"quoted\\tstring"}}', 'quoted\tstring'],
    ['{{`raw\\t`}}', 'raw\\t'],
    ["{{'a'}}", '97'],
    ['{{1}} {{-2}} {{1.5}} {{0x10}} {{1e3}} {{true}}', '1 -2 1.5 16 1000 true'],
    // if / else / with
    ['{{if .Ok}}yes{{end}}', 'yes'],
    ['{{if .No}}yes{{end}}', ''],
    ['{{if .No}}yes{{else}}no{{end}}', 'no'],
    ['{{if .Nil}}a{{else if .Empty}}b{{else if .List}}c{{else}}d{{end}}', 'c'],
    ['{{if .EmptyList}}a{{else}}b{{end}} {{if .NoLabels}}a{{else}}b{{end}} {{if .Missing}}a{{else}}b{{end}}', 'b b b'],
    ['{{if eq .Name "web"}}match{{end}}', 'match'],
    ['{{if and .Ok (gt .Size 1000)}}big{{end}}', 'big'],
    ['{{with .Config}}{{.Labels.x}}{{end}}', 'y'],
    ['{{with .Missing}}x{{else}}none{{end}}', 'none'],
    ['{{with .Nil}}x{{else with .Name}}{{.}}{{end}}', 'web'],
    ['{{with $x := .Name}}{{$x}}{{.}}{{end}}', 'webweb'],
    // range
    ['{{range .List}}<{{.}}>{{end}}', '<a><b><c>'],
    ['{{range $i, $e := .List}}{{$i}}={{$e}} {{end}}', '0=a 1=b 2=c '],
    ['{{range $e := .List}}{{$e}}{{end}}', 'abc'],
    ['{{range .Labels}}{{.}},{{end}}', '1,me,web,'],
    ['{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}', 'a=1;maintainer=me;org.opencontainers.image.title=web;'],
    ['{{range .EmptyList}}x{{else}}empty{{end}}', 'empty'],
    ['{{range .Missing}}x{{else}}empty{{end}}', 'empty'],
    ['{{range .Rows}}{{.Name}}:{{join .Tags ","}};{{end}}', 'one:t1,t2;two:;'],
    ['{{range .Rows}}{{$.Name}}/{{.Name}} {{end}}', 'web/one web/two '],
    ['{{range .List}}{{if eq . "b"}}{{continue}}{{end}}{{.}}{{end}}', 'ac'],
    ['{{range .List}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}', 'a'],
    ['{{range 3}}{{.}}{{end}}', '012'],
    ['{{range .Config.Env}}{{println .}}{{end}}', 'PATH=/usr/bin\nA=1\n'],
    // variables
    ['{{$x := .Name}}{{$x}}-{{$x}}', 'web-web'],
    ['{{$x := 1}}{{if .Ok}}{{$x = 2}}{{end}}{{$x}}', '2'],
    ['{{$.Name}}', 'web'],
    ['{{$n := len .List}}{{$n}}', '3'],
    // whitespace trimming
    ['a  {{- .Name -}}  b', 'awebb'],
    ['a \n\t{{- .Name}} b', 'aweb b'],
    ['a {{.Name -}} \n b', 'a webb'],
    ['{{range .List -}}\n  {{.}}\n{{- end}}', 'abc'],
    ['{{-3}}', '-3'],
    // comments
    ['{{/* a comment */}}x', 'x'],
    ['a {{- /* trimmed */ -}} b', 'ab'],
    ['{{/* multi\nline */}}ok', 'ok'],
    // shell escapes in text
    ['{{.Name}}\\t{{.ID}}\\n', 'web\tabc123\n'],
    ['a\\tb\\nc', 'a\tb\nc'],
    ['{{.Name}}\\n{{- .ID}}', 'webabc123'],
    // text that is not an action
    ['{ not an action }', '{ not an action }'],
    ['{{"{{"}}', '{{'],
  ];
  for (const [format, want] of cases) {
    it(`${JSON.stringify(format)} -> ${JSON.stringify(want)}`, () => {
      expect(renderTemplate(format, data)).to.equal(want);
    });
  }

  it('prints the whole data with {{.}} as a Go map', () => {
    expect(renderTemplate('{{.}}', { b: [1], a: 'x', c: { d: {} } })).to.equal('map[a:x b:[1] c:map[d:{}]]');
  });

  it('prints scalars given as data', () => {
    expect(renderTemplate('{{.}}', 'str')).to.equal('str');
    expect(renderTemplate('{{.}}', 42)).to.equal('42');
    expect(renderTemplate('{{.}}', null)).to.equal('<no value>');
    expect(renderTemplate('{{.}}', undefined)).to.equal('<no value>');
    expect(renderTemplate('{{.}}', [])).to.equal('[]');
  });

  it('formats Dates as Go time.Time', () => {
    expect(renderTemplate('{{.T}}', { T: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)) })).to.equal('2024-01-02 03:04:05 +0000 UTC');
  });

  const malformed: [string, RegExp][] = [
    ['{{.Name', /^template: 1:1: unclosed action$/],
    ['{{if .Ok}}x', /^template: 1:1: unexpected EOF/],
    ['{{range .List}}', /^template: 1:1: unexpected EOF/],
    ['x{{end}}', /^template: 1:2: unexpected \{\{end\}\}$/],
    ['line1\n{{else}}', /^template: 2:1: unexpected \{\{else\}\}$/],
    ['{{nosuch .Name}}', /^template: 1:3: function "nosuch" not defined$/],
    ['{{.Name | }}', /^template: 1:11: missing command after \|$/],
    ['{{}}', /^template: 1:3: missing value for command$/],
    ['{{if}}{{end}}', /missing value for if/],
    ['{{$y}}', /^template: 1:3: undefined variable "\$y"$/],
    ['{{(.Name}}', /unclosed left paren/],
    ['{{"abc}}', /unterminated quoted string/],
    ['{{`abc}}', /unterminated raw quoted string/],
    ['{{break}}', /\{\{break\}\} outside \{\{range\}\}/],
    ['{{/* no end }}', /unclosed comment/],
    ['{{/* c */ x}}', /comment ends before closing delimiter/],
    ['{{.Name %}}', /unrecognized character in action: "%"/],
    ['{{if .Ok}}a{{else}}b{{else}}c{{end}}', /expected end; found \{\{else\}\}/],
    ['{{define "x"}}{{end}}', /\{\{define\}\} is not supported/],
    ['{{range .List}}{{else if .Ok}}{{end}}', /unexpected if in else/],
    ['{{end .Name}}', /unexpected \.Name in end/],
    ['{{3x}}', /bad number syntax/],
    [`{{${'('.repeat(500)}1${')'.repeat(500)}}}`, /nested more than 100 deep/],
    ['{{if 1}}'.repeat(500), /nested more than 100 deep/],
  ];
  for (const [format, re] of malformed) {
    it(`rejects ${JSON.stringify(format)}`, () => {
      expect(() => renderTemplate(format, data))
        .to.throw(UsageError)
        .with.property('message')
        .that.matches(re);
      expect(() => checkTemplate(format)).to.throw(UsageError);
    });
  }

  const execErrors: [string, RegExp][] = [
    ['{{index .List 5}}', /^template: 1:3: executing at <\{\{index \.List 5\}\}>: error calling index: index out of range: 5$/],
    ['{{.Name.Field}}', /can't evaluate field Field in type string/],
    ['{{.Name 1}}', /can't give argument to non-function \.Name/],
    ['{{nil}}', /nil is not a command/],
    ['{{len 3}}', /error calling len: len of type int/],
    ['{{lt "a" 1}}', /incompatible types for comparison/],
    ['{{eq .List .List}}', /non-comparable type/],
    ['{{index .Name "x"}}', /error calling index/],
    ['{{upper}}', /wrong number of args for upper: want 1 got 0/],
    ['{{range .Name}}{{end}}', /range can't iterate over web/],
    ['{{.List | join "-"}}', /error calling join: wrong type for value; expected \[\]string; got string/],
  ];
  for (const [format, re] of execErrors) {
    it(`fails executing ${JSON.stringify(format)}`, () => {
      expect(() => renderTemplate(format, data))
        .to.throw(UsageError)
        .with.property('message')
        .that.matches(re);
    });
  }

  it('checkTemplate accepts a good template without data', () => {
    expect(() => checkTemplate('{{range .X}}{{.Y}}{{end}}')).not.to.throw();
  });
});
