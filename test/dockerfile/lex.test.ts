import { expect } from 'chai';
import { expandWord, expandWords } from '../../lib/dockerfile/lex.js';
import { parseDockerfile, parseKeyValues } from '../../lib/dockerfile/parse.js';

const vars: Record<string, string> = { A: 'a', EMPTY: '', SP: 'x y', PATH: '/bin' };
const lookup = (n: string) => vars[n];

describe('dockerfile word expansion (Docker\'s rules)', () => {
  it('expands $V and ${V}, leaves an unset one empty and a lone $ as it is', () => {
    expect(expandWord('$A-${A}_$NOPE.$', lookup)).to.equal('a-a_.$');
    expect(expandWord('${PATH}:/usr/bin', lookup)).to.equal('/bin:/usr/bin');
  });

  it('applies the :- - :+ + modifiers, telling unset from empty', () => {
    expect(expandWord('${EMPTY:-d} ${EMPTY-d} ${NOPE-d} ${NOPE:-d}', lookup)).to.equal('d  d d');
    expect(expandWord('${A:+alt} ${EMPTY:+alt} ${EMPTY+alt} ${NOPE+alt}', lookup)).to.equal('alt  alt ');
    expect(expandWord('${NOPE:-${A}b}', lookup)).to.equal('ab');
    expect(() => expandWord('${NOPE:?must be set}', lookup)).to.throw('NOPE: must be set');
  });

  it('removes quotes: no expansion in single quotes, escapes in double quotes', () => {
    expect(expandWord(`'$A' "$A" "\\$A" \\$A "a\\"b"`, lookup)).to.equal('$A a $A $A a"b');
    expect(expandWord('"two  spaces"', lookup)).to.equal('two  spaces');
  });

  it('takes another escape character', () => {
    expect(expandWord('`$A $A', lookup, '`')).to.equal('$A a');
  });

  it('splits words on unquoted whitespace, including that of an expanded value', () => {
    expect(expandWords('80 "443 x" $SP', lookup)).to.deep.equal(['80', '443 x', 'x', 'y']);
  });

  it('fails clearly on an unterminated quote', () => {
    expect(() => expandWord('"abc', lookup)).to.throw(/double-quote/);
  });
});

describe('dockerfile parsing', () => {
  it('joins continuation lines, drops comments inside them, and keeps line numbers', () => {
    const df = parseDockerfile('FROM a\n# c\nRUN echo 1 \\\n# inner\n  && echo 2\nENV X=1\n');
    expect(df.instructions.map((i) => [i.keyword, i.line])).to.deep.equal([['FROM', 1], ['RUN', 3], ['ENV', 6]]);
    expect(df.instructions[1]!.args).to.equal('echo 1   && echo 2');
  });

  it('reads the escape directive, flags and the JSON form', () => {
    const df = parseDockerfile('# escape=`\nFROM a\nCOPY --chown=1:2 --link x y/\nCMD ["a", "b"]\nRUN echo `\n  b\n');
    expect(df.escape).to.equal('`');
    expect(df.instructions[1]!.flags).to.deep.equal([{ name: 'chown', value: '1:2' }, { name: 'link', value: undefined }]);
    expect(df.instructions[1]!.args).to.equal('x y/');
    expect(df.instructions[2]!.json).to.deep.equal(['a', 'b']);
    expect(df.instructions[3]!.args).to.equal('echo   b');
  });

  it('reads here-documents', () => {
    const df = parseDockerfile('FROM a\nRUN <<EOF\necho $HOME\nEOF\nCOPY <<-"X" /f\n\tline\nX\n');
    expect(df.instructions[1]!.heredocs).to.deep.equal([{ name: 'EOF', content: 'echo $HOME\n', expand: true }]);
    expect(df.instructions[2]!.heredocs).to.deep.equal([{ name: 'X', content: 'line\n', expand: false }]);
  });

  it('names the file and line of an unknown instruction', () => {
    expect(() => parseDockerfile('FROM a\n\nFROB x\n', 'ctx/Containerfile')).to.throw('ctx/Containerfile:3: unknown instruction: FROB');
  });

  it('splits ENV and LABEL pairs, old and new forms', () => {
    const [env, old, bad] = parseDockerfile('ENV A=1 B="x y" C=a\\ b\nENV D hello world\nLABEL nope\n').instructions;
    expect(parseKeyValues(env!, 'Dockerfile', '\\')).to.deep.equal([['A', '1'], ['B', '"x y"'], ['C', 'a\\ b']]);
    expect(parseKeyValues(old!, 'Dockerfile', '\\')).to.deep.equal([['D', 'hello world']]);
    expect(() => parseKeyValues(bad!, 'Dockerfile', '\\')).to.throw('Dockerfile:3:');
  });
});
