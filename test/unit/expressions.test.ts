import assert from 'node:assert/strict';
import {
  BUILTIN_FUNCTIONS,
  checkExpression,
  contextReferences,
  evaluateExpression,
  evaluateTemplate,
  ExpressionError,
  hasExpressions,
  isTruthy,
  parseExpression,
  parseTemplate,
  toDisplayString,
  type Expr,
  type ExpressionIssue,
} from '../../common/expressions';

const CONTEXTS: Readonly<Record<string, unknown>> = {
  inputs: { name: 'Ada', count: 3, empty: '', zero: 0, flag: false, list: [10, 20, 30], nothing: null, undef: undefined },
  steps: {
    'my-step': { output: { items: [{ id: 'a', n: 1 }, { id: 'b', n: 2 }, { n: 3 }, 'plain', null] } },
    fetch: { output: { text: 'hello' } },
  },
  obj: { a: 1, b: { c: [1, 2] }, '1': 'one', 'key with space': 'spaced' },
  nan: NaN,
  index: 1,
};

function parse(text: string): Expr {
  const { expr, errors } = parseExpression(text);
  assert.deepEqual(errors, [], `unexpected parse errors for ${text}`);
  assert.ok(expr);
  return expr;
}

function ev(text: string, contexts: Readonly<Record<string, unknown>> = CONTEXTS): unknown {
  return evaluateExpression(parse(text), contexts);
}

function parseError(text: string): ExpressionIssue {
  const { expr, errors } = parseExpression(text);
  assert.equal(expr, undefined, `expected a parse error for ${text}`);
  assert.equal(errors.length, 1);
  return errors[0];
}

function evalError(text: string): ExpressionError {
  const expr = parse(text);
  try {
    evaluateExpression(expr, CONTEXTS);
  } catch (e) {
    assert.ok(e instanceof ExpressionError, `expected an ExpressionError, got ${String(e)}`);
    return e;
  }
  assert.fail(`expected ${text} to throw`);
}

/** The source text an issue or error range covers. */
function covered(text: string, r: { start: number; end: number }): string {
  return text.slice(r.start, r.end);
}

describe('expressions', () => {
  describe('literals', () => {
    it('parses null and booleans', () => {
      assert.equal(ev('null'), null);
      assert.equal(ev('true'), true);
      assert.equal(ev('false'), false);
    });

    it('parses integers, decimals, exponents and hex', () => {
      assert.equal(ev('42'), 42);
      assert.equal(ev('0'), 0);
      assert.equal(ev('3.25'), 3.25);
      assert.equal(ev('1e3'), 1000);
      assert.equal(ev('2.5E-2'), 0.025);
      assert.equal(ev('1e+2'), 100);
      assert.equal(ev('0xff'), 255);
      assert.equal(ev('0XFF'), 255);
      assert.equal(ev('007'), 7);
    });

    it('allows a leading minus before a number', () => {
      assert.equal(ev('-1'), -1);
      assert.equal(ev('-2.5'), -2.5);
      assert.equal(ev('-1e2'), -100);
      assert.equal(ev('-0x10'), -16);
      assert.ok(Object.is(ev('-0'), -0));
    });

    it('parses single-quoted strings with doubled-quote escapes', () => {
      assert.equal(ev("'hello'"), 'hello');
      assert.equal(ev("''"), '');
      assert.equal(ev("'it''s'"), "it's");
      assert.equal(ev("''''"), "'");
      assert.equal(ev("'a \"quoted\" word'"), 'a "quoted" word');
      assert.equal(ev("'}} and ${{'"), '}} and ${{');
    });

    it('keeps unicode in strings', () => {
      assert.equal(ev("'héllo wörld 😀 日本'"), 'héllo wörld 😀 日本');
    });

    it('ignores whitespace, including newlines and tabs', () => {
      assert.equal(ev(' \t\n inputs.name \r\n'), 'Ada');
      assert.equal(ev('inputs . name'), 'Ada');
      assert.equal(ev('1\n==\n1'), true);
      assert.equal(ev('\u00a0true\u00a0'), true);
    });
  });

  describe('parse errors', () => {
    const cases: Array<[text: string, message: string, start: number, end: number]> = [
      ['"text"', "strings in expressions use single quotes: 'text'", 0, 6],
      ['inputs.name == "Ada" ', "strings in expressions use single quotes: 'text'", 15, 20],
      ['"unterminated', "strings in expressions use single quotes: 'text'", 0, 13],
      ["'abc", "unterminated string: missing closing '", 0, 4],
      ["a == 'it''s", "unterminated string: missing closing '", 5, 11],
      ['a # b', "unexpected character '#'", 2, 3],
      ['a = b', "unexpected '=': use '==' to compare", 2, 3],
      ['a & b', "unexpected '&': use '&&'", 2, 3],
      ['a | b', "unexpected '|': use '||'", 2, 3],
      ['a - b', "unexpected '-': expressions have no arithmetic; '-' may only start a negative number such as -1", 2, 3],
      ['1abc', "invalid number '1abc'", 0, 4],
      ['x == 0x', "invalid number '0x'", 5, 7],
      ['0xfg', "invalid number '0xfg'", 0, 4],
      ['1e', "invalid number '1e'", 0, 2],
      ['1e+', "invalid number '1e+'", 0, 3],
      ['(a', "missing ')' to close '('", 2, 2],
      ['(a b', "expected ')' to close '(', found 'b'", 3, 4],
      ['a[0', "missing ']' to close '['", 3, 3],
      ['a[0 1]', "expected ']' to close '[', found '1'", 4, 5],
      ['format(1', "missing ')' to close the call to 'format'", 8, 8],
      ["format('x' 'y')", "expected ')' to close the call to 'format', found string 'y'", 11, 14],
      ['format(1,', 'unexpected end of expression', 9, 9],
      ['format(1,)', "unexpected ')'", 9, 10],
      ['a b', "unexpected 'b' after the expression; expected an operator", 2, 3],
      ['a == 1 2', "unexpected '2' after the expression; expected an operator", 7, 8],
      ['a)', "unexpected ')' after the expression; expected an operator", 1, 2],
      ['a -1', "unexpected '-1' after the expression; expected an operator", 2, 4],
      ['a ==', 'unexpected end of expression', 4, 4],
      ['== a', "unexpected '=='", 0, 2],
      ['a && || b', "unexpected '||'", 5, 7],
      ['!', 'unexpected end of expression', 1, 1],
      ['a.', "expected a property name or '*' after '.', found end of expression", 2, 2],
      ['a.1', "expected a property name or '*' after '.', found '1'", 2, 3],
      ["a.'b'", "expected a property name or '*' after '.', found string 'b'", 2, 5],
      ['a.b()', "unexpected '(': only built-in functions can be called, as name(…)", 3, 4],
      ['(a)(b)', "unexpected '(': only built-in functions can be called, as name(…)", 3, 4],
      ['a[]', "unexpected ']'", 2, 3],
      ['()', "unexpected ')'", 1, 2],
      ['*', "unexpected '*'", 0, 1],
      ['true(1)', "unexpected '(': only built-in functions can be called, as name(…)", 4, 5],
      ['é', "unexpected character 'é'", 0, 1],
      ["'😀' == 😀", "unexpected character '😀'", 8, 10],
    ];
    for (const [text, message, start, end] of cases) {
      it(`reports ${JSON.stringify(text)}`, () => {
        assert.deepEqual(parseError(text), { message, start, end });
      });
    }

    it('reports an empty or blank expression', () => {
      assert.deepEqual(parseError(''), { message: 'empty expression', start: 0, end: 0 });
      assert.deepEqual(parseError('   '), { message: 'empty expression', start: 0, end: 3 });
    });

    it('rejects nesting deep enough to overflow the stack', () => {
      assert.match(parseError('('.repeat(1000) + 'a' + ')'.repeat(1000)).message, /nested too deeply/);
      assert.match(parseError('!'.repeat(1000) + 'a').message, /nested too deeply/);
      assert.equal(ev('('.repeat(50) + 'true' + ')'.repeat(50)), true);
    });
  });

  describe('syntax tree', () => {
    it('records offsets of every node', () => {
      const expr = parse('steps.my-step.output');
      assert.deepEqual(expr, {
        kind: 'member',
        object: {
          kind: 'member',
          object: { kind: 'context', name: 'steps', start: 0, end: 5 },
          property: 'my-step',
          mapped: false,
          start: 0,
          end: 13,
        },
        property: 'output',
        mapped: false,
        start: 0,
        end: 20,
      });
    });

    it('records the function name range of a call', () => {
      const expr = parse(" toJSON( 'x' ) ");
      assert.equal(expr.kind, 'call');
      assert.deepEqual([expr.start, expr.end, expr.kind === 'call' && expr.nameEnd], [1, 14, 7]);
    });

    it('includes parentheses in the range of an enclosing node', () => {
      const expr = parse('(a) == (b)');
      assert.equal(expr.kind, 'compare');
      assert.deepEqual([expr.start, expr.end], [0, 10]);
      const not = parse('!(a)');
      assert.deepEqual([not.start, not.end], [0, 4]);
      const grouped = parse('(a)');
      assert.deepEqual([grouped.kind, grouped.start, grouped.end], ['context', 1, 2]);
    });

    it('binds operators by precedence: || < && < ==,!= < <,<=,>,>= < !', () => {
      const shape = (e: Expr): unknown => {
        switch (e.kind) {
          case 'logical':
          case 'compare':
            return [e.op, shape(e.left), shape(e.right)];
          case 'not':
            return ['!', shape(e.operand)];
          case 'context':
            return e.name;
          default:
            return e.kind;
        }
      };
      assert.deepEqual(shape(parse('a || b && c')), ['||', 'a', ['&&', 'b', 'c']]);
      assert.deepEqual(shape(parse('a && b || c')), ['||', ['&&', 'a', 'b'], 'c']);
      assert.deepEqual(shape(parse('a == b && c != d')), ['&&', ['==', 'a', 'b'], ['!=', 'c', 'd']]);
      assert.deepEqual(shape(parse('a == b < c')), ['==', 'a', ['<', 'b', 'c']]);
      assert.deepEqual(shape(parse('a <= b == c >= d')), ['==', ['<=', 'a', 'b'], ['>=', 'c', 'd']]);
      assert.deepEqual(shape(parse('!a == b')), ['==', ['!', 'a'], 'b']);
      assert.deepEqual(shape(parse('!!a')), ['!', ['!', 'a']]);
      assert.deepEqual(shape(parse('(a || b) && c')), ['&&', ['||', 'a', 'b'], 'c']);
      assert.deepEqual(shape(parse('a || b || c')), ['||', ['||', 'a', 'b'], 'c']);
      assert.deepEqual(shape(parse('a < b > c')), ['>', ['<', 'a', 'b'], 'c']);
    });

    it('marks accesses after a filter as mapped', () => {
      const expr = parse('a.*.b[0]');
      assert.ok(expr.kind === 'index' && expr.mapped);
      assert.ok(expr.object.kind === 'member' && expr.object.mapped);
      assert.ok(expr.object.object.kind === 'filter' && !expr.object.object.mapped);
      const bracket = parse('a[*].b');
      assert.ok(bracket.kind === 'member' && bracket.mapped && bracket.object.kind === 'filter');
    });

    it('accepts keywords and hyphens as property names', () => {
      assert.deepEqual(ev("fromJSON('{\"null\":1,\"true\":2,\"a-b\":3}').null"), 1);
      assert.deepEqual(ev("fromJSON('{\"null\":1,\"true\":2,\"a-b\":3}').true"), 2);
      assert.deepEqual(ev("fromJSON('{\"null\":1,\"true\":2,\"a-b\":3}').a-b"), 3);
    });
  });

  describe('property access and indexing', () => {
    it('reads contexts, properties and hyphenated names', () => {
      assert.equal(ev('inputs.name'), 'Ada');
      assert.equal(ev('steps.fetch.output.text'), 'hello');
      assert.equal(ev('steps.my-step.output.items[1].id'), 'b');
      assert.deepEqual(ev('obj.b'), { c: [1, 2] });
    });

    it('indexes with strings, numbers and expressions', () => {
      assert.equal(ev("obj['a']"), 1);
      assert.equal(ev("obj['key with space']"), 'spaced');
      assert.equal(ev("steps['my-step'].output.items[0]['id']"), 'a');
      assert.equal(ev('inputs.list[0]'), 10);
      assert.equal(ev('inputs.list[2]'), 30);
      assert.equal(ev('inputs.list[index]'), 20);
      assert.equal(ev("inputs.list[length('ab')]"), 30);
      assert.equal(ev('obj[1]'), 'one');
      assert.equal(ev("obj[format('{0}', 'a')]"), 1);
      assert.equal(ev('inputs.list[1.0]'), 20);
    });

    it('yields null instead of failing', () => {
      assert.equal(ev('unknown'), null);
      assert.equal(ev('unknown.deeper.still'), null);
      assert.equal(ev('inputs.missing'), null);
      assert.equal(ev('inputs.nothing.x'), null);
      assert.equal(ev('inputs.undef'), null);
      assert.equal(ev('inputs.name.length'), null);
      assert.equal(ev('inputs.list.length'), null);
      assert.equal(ev('inputs.list[3]'), null);
      assert.equal(ev('inputs.list[-1]'), null);
      assert.equal(ev('inputs.list[0.5]'), null);
      assert.equal(ev("inputs.list['0']"), null);
      assert.equal(ev('inputs.list[null]'), null);
      assert.equal(ev('obj[true]'), null);
      assert.equal(ev("'abc'[0]"), null);
      assert.equal(ev('42.x'), null);
      assert.equal(ev('null.x'), null);
      assert.equal(ev('nan.x'), null);
    });

    it('reads only own properties', () => {
      assert.equal(ev('obj.constructor'), null);
      assert.equal(ev('obj.toString'), null);
      assert.equal(ev("obj['__proto__']"), null);
      assert.equal(ev('inputs.list.map'), null);
      assert.equal(ev('toString'), null);
      assert.equal(ev('constructor', Object.create({ constructor: 'inherited' }) as Record<string, unknown>), null);
    });

    it('reads a __proto__ key that JSON data really has', () => {
      assert.equal(ev(`fromJSON('{"__proto__": 5}')['__proto__']`), 5);
    });
  });

  describe('filters', () => {
    it('yields array elements and object values', () => {
      assert.deepEqual(ev('inputs.list.*'), [10, 20, 30]);
      assert.deepEqual(ev('inputs.list[*]'), [10, 20, 30]);
      assert.deepEqual(ev("fromJSON('{\"x\":1,\"y\":[2]}').*"), [1, [2]]);
    });

    it('yields an empty array for values without elements', () => {
      assert.deepEqual(ev('inputs.missing.*'), []);
      assert.deepEqual(ev('inputs.name.*'), []);
      assert.deepEqual(ev('inputs.count[*]'), []);
    });

    it('returns a copy, not the context array', () => {
      const list = [1, 2];
      const result = ev('l.*', { l: list });
      assert.deepEqual(result, list);
      assert.notEqual(result, list);
    });

    it('maps later accesses over the elements, skipping those without the property', () => {
      assert.deepEqual(ev("fromJSON('[{\"a\":1},{\"a\":2}]').*.a"), [1, 2]);
      assert.deepEqual(ev('steps.my-step.output.items.*.id'), ['a', 'b']);
      assert.deepEqual(ev('steps.my-step.output.items.*.n'), [1, 2, 3]);
      assert.deepEqual(ev("steps.my-step.output.items.*['id']"), ['a', 'b']);
      assert.deepEqual(ev('steps.*.output.text'), ['hello']);
      assert.deepEqual(ev("fromJSON('[{\"a\":null},{\"b\":1}]').*.a"), [null]);
    });

    it('maps an index over the elements', () => {
      assert.deepEqual(ev("fromJSON('[[1,2],[3],[]]').*[0]"), [1, 3]);
      assert.deepEqual(ev("fromJSON('[[1,2],[3,4]]').*[index]"), [2, 4]);
    });

    it('flattens a filter applied after a filter', () => {
      assert.deepEqual(ev("fromJSON('[[1,2],[3],{\"x\":4},5]').*.*"), [1, 2, 3, 4]);
      assert.deepEqual(ev("fromJSON('[{\"a\":[1,2]},{\"a\":[3]}]').*.a.*"), [1, 2, 3]);
      assert.deepEqual(ev("fromJSON('[{\"a\":[{\"b\":1},{\"b\":2}]},{\"a\":[{\"b\":3}]}]').*.a.*.b"), [1, 2, 3]);
    });

    it('maps over a parenthesized filter too', () => {
      assert.deepEqual(ev("(fromJSON('[{\"a\":1}]').*).a"), [1]);
    });

    it('works with functions on the result', () => {
      assert.equal(ev("join(steps.my-step.output.items.*.id, '+')"), 'a+b');
      assert.equal(ev("contains(steps.my-step.output.items.*.id, 'b')"), true);
      assert.equal(ev('length(steps.my-step.output.items.*.id)'), 2);
    });
  });

  describe('truthiness and !', () => {
    it('treats null, false, 0, -0, NaN and empty string as falsy', () => {
      for (const v of [null, undefined, false, 0, -0, NaN, '']) assert.equal(isTruthy(v), false, String(v));
      assert.equal(ev('!null'), true);
      assert.equal(ev('!false'), true);
      assert.equal(ev('!0'), true);
      assert.equal(ev('!-0'), true);
      assert.equal(ev('!nan'), true);
      assert.equal(ev("!''"), true);
      assert.equal(ev('!inputs.missing'), true);
    });

    it('treats everything else as truthy, including empty arrays and objects', () => {
      for (const v of [true, 1, -1, 'a', 'false', '0', ' ', [], {}, Infinity]) assert.equal(isTruthy(v), true, String(v));
      assert.equal(ev("!fromJSON('[]')"), false);
      assert.equal(ev("!fromJSON('{}')"), false);
      assert.equal(ev("!'false'"), false);
      assert.equal(ev('!!inputs.name'), true);
    });
  });

  describe('&& and ||', () => {
    it('return an operand value like JavaScript', () => {
      assert.equal(ev("inputs.missing || 'default'"), 'default');
      assert.equal(ev("inputs.name || 'default'"), 'Ada');
      assert.equal(ev("inputs.empty || 'default'"), 'default');
      assert.equal(ev('inputs.zero || inputs.flag'), false);
      assert.equal(ev("inputs.name && 'yes'"), 'yes');
      assert.equal(ev("inputs.zero && 'yes'"), 0);
      assert.equal(ev("inputs.missing && 'yes'"), null);
      assert.deepEqual(ev('inputs.list || 1'), [10, 20, 30]);
      assert.equal(ev("null || false || '' || 'last'"), 'last');
      assert.equal(ev("1 && 'a' && true"), true);
    });

    it('short-circuit, so the unused side is never evaluated', () => {
      assert.equal(ev("true || fromJSON('not json')"), true);
      assert.equal(ev("false && fromJSON('not json')"), false);
      assert.equal(ev("inputs.name || nosuchfunction()"), 'Ada');
    });
  });

  describe('== and !=', () => {
    it('compares same-kind primitives strictly', () => {
      assert.equal(ev('1 == 1'), true);
      assert.equal(ev('1 == 1.0'), true);
      assert.equal(ev('0 == -0'), true);
      assert.equal(ev('0xff == 255'), true);
      assert.equal(ev('1 != 2'), true);
      assert.equal(ev("'a' == 'a'"), true);
      assert.equal(ev("'a' != 'b'"), true);
      assert.equal(ev('true == true'), true);
      assert.equal(ev('true != false'), true);
      assert.equal(ev('null == null'), true);
      assert.equal(ev('inputs.missing == null'), true);
      assert.equal(ev('inputs.undef == null'), true);
    });

    it('compares strings case-sensitively', () => {
      assert.equal(ev("'Ada' == 'ada'"), false);
      assert.equal(ev("inputs.name == 'Ada'"), true);
      assert.equal(ev("'É' == 'é'"), false);
    });

    it('compares arrays and objects structurally', () => {
      assert.equal(ev("fromJSON('[1,[2,{\"a\":null}]]') == fromJSON('[1,[2,{\"a\":null}]]')"), true);
      assert.equal(ev("fromJSON('[1,2]') == fromJSON('[2,1]')"), false);
      assert.equal(ev("fromJSON('[1,2]') == fromJSON('[1,2,3]')"), false);
      assert.equal(ev("fromJSON('{\"a\":1,\"b\":[1]}') == fromJSON('{\"b\":[1],\"a\":1}')"), true);
      assert.equal(ev("fromJSON('{\"a\":1}') == fromJSON('{\"a\":1,\"b\":2}')"), false);
      assert.equal(ev("fromJSON('{\"a\":1}') == fromJSON('{\"b\":1}')"), false);
      assert.equal(ev("fromJSON('[]') != fromJSON('[]')"), false);
      assert.equal(ev("fromJSON('[1]') == fromJSON('[\"1\"]')"), false);
      assert.equal(ev("fromJSON('[]') == fromJSON('{}')"), false);
      assert.equal(ev('inputs.list == inputs.list'), true);
    });

    it('coerces different kinds to numbers', () => {
      assert.equal(ev("1 == '1'"), true);
      assert.equal(ev("'1.5' == 1.5"), true);
      assert.equal(ev("' 2 ' == 2"), true);
      assert.equal(ev("'0x10' == 16"), true);
      assert.equal(ev("'' == 0"), true);
      assert.equal(ev("'' == null"), true);
      assert.equal(ev('null == 0'), true);
      assert.equal(ev('null == false'), true);
      assert.equal(ev('true == 1'), true);
      assert.equal(ev("true == '1'"), true);
      assert.equal(ev('false == 0'), true);
      assert.equal(ev('true == 2'), false);
      assert.equal(ev("'abc' == 0"), false);
      assert.equal(ev("'abc' != 0"), true);
      assert.equal(ev("fromJSON('[]') == 0"), false);
      assert.equal(ev("fromJSON('{}') == null"), false);
      assert.equal(ev("fromJSON('[1]') == 1"), false);
    });

    it('never finds NaN equal', () => {
      assert.equal(ev('nan == nan'), false);
      assert.equal(ev('nan != nan'), true);
      assert.equal(ev("'x' == fromJSON('[]')"), false);
    });
  });

  describe('<, <=, >, >=', () => {
    it('compares numbers', () => {
      assert.equal(ev('1 < 2'), true);
      assert.equal(ev('2 < 1'), false);
      assert.equal(ev('2 <= 2'), true);
      assert.equal(ev('3 <= 2'), false);
      assert.equal(ev('3 > 2'), true);
      assert.equal(ev('2 > 2'), false);
      assert.equal(ev('2 >= 2'), true);
      assert.equal(ev('-1 < 0'), true);
      assert.equal(ev('inputs.count > 2'), true);
    });

    it('compares two strings by code units', () => {
      assert.equal(ev("'a' < 'b'"), true);
      assert.equal(ev("'B' < 'a'"), true);
      assert.equal(ev("'10' < '9'"), true);
      assert.equal(ev("'abc' >= 'abc'"), true);
      assert.equal(ev("'ab' > 'abc'"), false);
      assert.equal(ev("'é' > 'z'"), true);
    });

    it('compares mixed kinds as numbers', () => {
      assert.equal(ev("'10' < 9"), false);
      assert.equal(ev("'10' > 9"), true);
      assert.equal(ev('null < 1'), true);
      assert.equal(ev('null >= 0'), true);
      assert.equal(ev('true > false'), true);
      assert.equal(ev("'' <= false"), true);
    });

    it('is false whenever NaN is involved', () => {
      for (const op of ['<', '<=', '>', '>=']) {
        assert.equal(ev(`'abc' ${op} 1`), false, op);
        assert.equal(ev(`1 ${op} 'abc'`), false, op);
        assert.equal(ev(`fromJSON('[]') ${op} 0`), false, op);
        assert.equal(ev(`inputs ${op} inputs`), false, op);
        assert.equal(ev(`nan ${op} nan`), false, op);
      }
    });
  });

  describe('functions', () => {
    it('has a table entry for every documented function', () => {
      assert.deepEqual(
        BUILTIN_FUNCTIONS.map((f) => [f.name, f.minArgs, f.maxArgs]),
        [
          ['contains', 2, 2],
          ['endsWith', 2, 2],
          ['format', 1, Infinity],
          ['fromJSON', 1, 1],
          ['join', 1, 2],
          ['keys', 1, 1],
          ['length', 1, 1],
          ['lower', 1, 1],
          ['split', 1, 2],
          ['startsWith', 2, 2],
          ['toJSON', 1, 1],
          ['trim', 1, 1],
          ['upper', 1, 1],
        ],
      );
    });

    it('matches names case-insensitively', () => {
      assert.equal(ev('TOJSON(1)'), '1');
      assert.equal(ev('tojson(1)'), '1');
      assert.equal(ev("StartsWith('abc', 'a')"), true);
      assert.deepEqual(ev("FROMjson('[1]')"), [1]);
    });

    it('contains: substring of the display string', () => {
      assert.equal(ev("contains('hello world', 'o w')"), true);
      assert.equal(ev("contains('hello', 'Hell')"), false);
      assert.equal(ev("contains('hello', '')"), true);
      assert.equal(ev('contains(12345, 34)'), true);
      assert.equal(ev("contains('is true', true)"), true);
      assert.equal(ev("contains(null, 'a')"), false);
      assert.equal(ev("contains(inputs, 'Ada')"), true);
      assert.equal(ev("contains('😀 smile', '😀')"), true);
    });

    it('contains: an array element equal to the item', () => {
      assert.equal(ev('contains(inputs.list, 20)'), true);
      assert.equal(ev("contains(inputs.list, '20')"), true);
      assert.equal(ev('contains(inputs.list, 25)'), false);
      assert.equal(ev("contains(fromJSON('[\"A\",\"b\"]'), 'a')"), false);
      assert.equal(ev("contains(fromJSON('[[1],{\"a\":2}]'), fromJSON('{\"a\":2}'))"), true);
      assert.equal(ev("contains(fromJSON('[null]'), null)"), true);
      assert.equal(ev("contains(fromJSON('[]'), null)"), false);
    });

    it('startsWith and endsWith use display strings', () => {
      assert.equal(ev("startsWith('hello', 'he')"), true);
      assert.equal(ev("startsWith('hello', 'He')"), false);
      assert.equal(ev("startsWith('hello', '')"), true);
      assert.equal(ev('startsWith(12345, 12)'), true);
      assert.equal(ev("startsWith(null, '')"), true);
      assert.equal(ev("endsWith('hello', 'llo')"), true);
      assert.equal(ev("endsWith('hello', 'LLO')"), false);
      assert.equal(ev('endsWith(true, 1)'), false);
      assert.equal(ev("endsWith(true, 'ue')"), true);
      assert.equal(ev("endsWith('日本語', '語')"), true);
    });

    it('format: substitutes indexed arguments as display strings', () => {
      assert.equal(ev("format('Hello {0}, you have {1} items', inputs.name, inputs.count)"), 'Hello Ada, you have 3 items');
      assert.equal(ev("format('{1}{0}{1}', 'a', 'b')"), 'bab');
      assert.equal(ev("format('no placeholders')"), 'no placeholders');
      assert.equal(ev("format('[{0}]', null)"), '[]');
      assert.equal(ev("format('{0}|{1}|{2}', true, inputs.list, obj.b)"), 'true|[10,20,30]|{"c":[1,2]}');
      assert.equal(ev("format('{0}', '{1}')"), '{1}');
      assert.equal(ev("format('{10}', 0,1,2,3,4,5,6,7,8,9,'ten')"), 'ten');
      assert.equal(ev("format('')"), '');
    });

    it('format: doubled braces are literal', () => {
      assert.equal(ev("format('{{0}} is {0}', 'x')"), '{0} is x');
      assert.equal(ev("format('{{{0}}}', 'x')"), '{x}');
      assert.equal(ev("format('}}{{')"), '}{');
    });

    it('format: rejects placeholders without arguments and stray braces', () => {
      const text = "inputs.name && format('{0} {2}', 'a', 'b')";
      const e = evalError(text);
      assert.equal(e.message, 'format: no argument for {2}: 2 arguments after the format string');
      assert.equal(covered(text, e), "format('{0} {2}', 'a', 'b')");
      assert.equal(evalError("format('{0}')").message, 'format: no argument for {0}: 0 arguments after the format string');
      assert.equal(evalError("format('{1}', 'a')").message, 'format: no argument for {1}: 1 argument after the format string');
      assert.equal(
        evalError("format('a } b')").message,
        "format: unmatched '}' at position 2 of the format string; write '}}' for a literal brace",
      );
      for (const fmt of ['{x}', '{ 0 }', '{', 'a {0', '{}', '{-1}']) {
        assert.match(evalError(`format('${fmt}', 1)`).message, /^format: invalid placeholder at position \d+ of the format string/, fmt);
      }
    });

    it('join: display strings with a separator, default comma', () => {
      assert.equal(ev('join(inputs.list)'), '10,20,30');
      assert.equal(ev("join(inputs.list, ', ')"), '10, 20, 30');
      assert.equal(ev("join(inputs.list, '')"), '102030');
      assert.equal(ev("join(fromJSON('[null, true, \"s\", [1], {\"a\":1}]'), ';')"), ';true;s;[1];{"a":1}');
      assert.equal(ev("join(fromJSON('[]'), ';')"), '');
      assert.equal(ev('join(inputs.list, 0)'), '10020030');
    });

    it('join: a non-array is returned as its display string', () => {
      assert.equal(ev("join('abc', '-')"), 'abc');
      assert.equal(ev('join(42)'), '42');
      assert.equal(ev('join(null)'), '');
      assert.equal(ev('join(obj.b)'), '{"c":[1,2]}');
    });

    it('toJSON: pretty-prints with two spaces', () => {
      assert.equal(ev('toJSON(obj.b)'), '{\n  "c": [\n    1,\n    2\n  ]\n}');
      assert.equal(ev("toJSON('a''b')"), '"a\'b"');
      assert.equal(ev('toJSON(null)'), 'null');
      assert.equal(ev('toJSON(inputs.missing)'), 'null');
      assert.equal(ev('toJSON(true)'), 'true');
      assert.equal(ev('toJSON(1.5)'), '1.5');
      assert.equal(ev("toJSON(fromJSON('[]'))"), '[]');
    });

    it('fromJSON: parses JSON text', () => {
      assert.deepEqual(ev(`fromJSON('{"a": [1, "x", null, true]}')`), { a: [1, 'x', null, true] });
      assert.equal(ev("fromJSON('42')"), 42);
      assert.equal(ev(`fromJSON('"s"')`), 's');
      assert.equal(ev("fromJSON('null')"), null);
      assert.equal(ev('fromJSON(5)'), 5);
      assert.deepEqual(ev('fromJSON(toJSON(obj))'), CONTEXTS.obj);
    });

    it('fromJSON: invalid JSON quotes the start of the text and the JSON error', () => {
      const text = "inputs.name == fromJSON('{\"a\": ')";
      const e = evalError(text);
      assert.match(e.message, /^fromJSON: invalid JSON '\{"a": ': /);
      assert.ok(e.message.length > "fromJSON: invalid JSON '{\"a\": ': ".length);
      assert.equal(covered(text, e), "fromJSON('{\"a\": ')");
      assert.match(evalError("fromJSON('')").message, /^fromJSON: invalid JSON '': /);
      assert.match(evalError('fromJSON(null)').message, /^fromJSON: invalid JSON '': /);
      const long = evalError(`fromJSON('not json ${'x'.repeat(100)}')`).message;
      assert.ok(long.startsWith(`fromJSON: invalid JSON 'not json ${'x'.repeat(31)}'…: `), long);
      assert.match(evalError("fromJSON('[1,\n2,\n')").message, /^fromJSON: invalid JSON '\[1, 2, ': /);
    });

    it('length: of strings, arrays and objects', () => {
      assert.equal(ev('length(inputs.name)'), 3);
      assert.equal(ev("length('')"), 0);
      assert.equal(ev('length(inputs.list)'), 3);
      assert.equal(ev('length(obj)'), 4);
      assert.equal(ev("length(fromJSON('{}'))"), 0);
      assert.equal(ev("length('héllo')"), 5);
      assert.equal(ev("length('😀')"), 2, 'UTF-16 code units, like JavaScript');
    });

    it('length: fails for other values', () => {
      const text = 'inputs.count > length(inputs.count)';
      const e = evalError(text);
      assert.equal(e.message, 'length: expected a string, array or object, got number');
      assert.deepEqual([e.start, e.end], [15, 35]);
      assert.equal(evalError('length(null)').message, 'length: expected a string, array or object, got null');
      assert.equal(evalError('length(inputs.missing)').message, 'length: expected a string, array or object, got null');
      assert.equal(evalError('length(true)').message, 'length: expected a string, array or object, got boolean');
    });

    it('keys: of objects only', () => {
      assert.deepEqual(ev('keys(obj.b)'), ['c']);
      assert.deepEqual(ev("keys(fromJSON('{\"z\":1,\"a\":2}'))"), ['z', 'a']);
      assert.deepEqual(ev("keys(fromJSON('{}'))"), []);
      assert.equal(evalError('keys(inputs.list)').message, 'keys: expected an object, got array');
      assert.equal(evalError("keys('abc')").message, 'keys: expected an object, got string');
      assert.equal(evalError('keys(null)').message, 'keys: expected an object, got null');
    });

    it('lower and upper: of display strings', () => {
      assert.equal(ev("lower('HeLLo')"), 'hello');
      assert.equal(ev("upper('HeLLo')"), 'HELLO');
      assert.equal(ev("lower('ÉCOLE')"), 'école');
      assert.equal(ev("upper('straße')"), 'STRASSE');
      assert.equal(ev('lower(null)'), '');
      assert.equal(ev('upper(true)'), 'TRUE');
      assert.equal(ev('lower(obj.b)'), '{"c":[1,2]}');
    });

    it('split: lines by default, or by a separator, dropping empty parts', () => {
      assert.deepEqual(ev("split('a\nb\r\n\nc\n')"), ['a', 'b', 'c']);
      assert.deepEqual(ev("split('x, y,,z', ',')"), ['x', ' y', 'z']);
      assert.deepEqual(ev("split('', ',')"), []);
      assert.deepEqual(ev("split(fromJSON('{\"content\":\"/a.json\\n/b.json\"}').content)"), ['/a.json', '/b.json']);
      assert.deepEqual(ev('split(null)'), []);
    });

    it('trim: of display strings', () => {
      assert.equal(ev("trim('  hi \n')"), 'hi');
      assert.equal(ev('trim(null)'), '');
    });

    it('fails on an unknown function, ranging the name', () => {
      const text = "inputs.name == nosuch('x')";
      const e = evalError(text);
      assert.equal(e.message, "unknown function 'nosuch'");
      assert.equal(covered(text, e), 'nosuch');
    });

    it('fails on a wrong argument count, ranging the call', () => {
      const text = "true && join(1, 2, 3)";
      const e = evalError(text);
      assert.equal(e.message, "'join' takes 1 to 2 arguments, got 3");
      assert.equal(covered(text, e), 'join(1, 2, 3)');
      assert.equal(evalError('toJSON()').message, "'toJSON' takes 1 argument, got 0");
      assert.equal(evalError("contains('a')").message, "'contains' takes 2 arguments, got 1");
      assert.equal(evalError('format()').message, "'format' takes at least 1 argument, got 0");
    });

    it('reports the innermost failing call', () => {
      const text = "toJSON(fromJSON(format('{0}', 'x')))";
      const e = evalError(text);
      assert.match(e.message, /^fromJSON: invalid JSON 'x'/);
      assert.equal(covered(text, e), "fromJSON(format('{0}', 'x'))");
    });

    it('throws ExpressionError, an Error with a cause', () => {
      const e = evalError("fromJSON('x')");
      assert.ok(e instanceof Error);
      assert.equal(e.name, 'ExpressionError');
      assert.ok(e.cause instanceof Error);
    });
  });

  describe('toDisplayString', () => {
    it('converts every kind of value', () => {
      assert.equal(toDisplayString(null), '');
      assert.equal(toDisplayString(undefined), '');
      assert.equal(toDisplayString(true), 'true');
      assert.equal(toDisplayString(false), 'false');
      assert.equal(toDisplayString(0), '0');
      assert.equal(toDisplayString(-0), '0');
      assert.equal(toDisplayString(1.5), '1.5');
      assert.equal(toDisplayString(1e21), '1e+21');
      assert.equal(toDisplayString(NaN), 'NaN');
      assert.equal(toDisplayString('text'), 'text');
      assert.equal(toDisplayString([1, 'a', null]), '[1,"a",null]');
      assert.equal(toDisplayString({ a: { b: [] } }), '{"a":{"b":[]}}');
    });
  });

  describe('contextReferences', () => {
    const refs = (text: string) => contextReferences(parse(text));

    it('follows literal property names from the root', () => {
      const text = 'steps.fetch.output.items';
      assert.deepEqual(refs(text), [{ context: 'steps', path: ['fetch', 'output', 'items'], start: 0, end: 24 }]);
      assert.deepEqual(refs('inputs'), [{ context: 'inputs', path: [], start: 0, end: 6 }]);
    });

    it("treats string-literal indexes as names", () => {
      assert.deepEqual(refs("steps['my-step'].output"), [{ context: 'steps', path: ['my-step', 'output'], start: 0, end: 23 }]);
    });

    it('stops at a numeric or computed index and at a filter', () => {
      assert.deepEqual(refs('steps.a.output[0].x'), [{ context: 'steps', path: ['a', 'output'], start: 0, end: 14 }]);
      assert.deepEqual(refs('steps.a.*.x'), [{ context: 'steps', path: ['a'], start: 0, end: 7 }]);
      assert.deepEqual(refs('steps[index].x'), [
        { context: 'steps', path: [], start: 0, end: 5 },
        { context: 'index', path: [], start: 6, end: 11 },
      ]);
    });

    it('finds references in operands, arguments and indexes, in source order', () => {
      const text = "contains(steps.a.output, inputs.q) && !env.X || vars[inputs.k].y == item";
      assert.deepEqual(
        refs(text).map((r) => [r.context, r.path.join('.'), covered(text, r)]),
        [
          ['steps', 'a.output', 'steps.a.output'],
          ['inputs', 'q', 'inputs.q'],
          ['env', 'X', 'env.X'],
          ['vars', '', 'vars'],
          ['inputs', 'k', 'inputs.k'],
          ['item', '', 'item'],
        ],
      );
    });

    it('ignores chains rooted at something other than a context', () => {
      assert.deepEqual(refs("fromJSON('{}').a.b"), []);
      assert.deepEqual(
        refs("fromJSON(steps.s.output).a[inputs.i]").map((r) => [r.context, r.path]),
        [
          ['steps', ['s', 'output']],
          ['inputs', ['i']],
        ],
      );
      assert.deepEqual(refs("'literal' == 1"), []);
    });

    it('sees through parentheses', () => {
      assert.deepEqual(refs('(steps).a.b'), [{ context: 'steps', path: ['a', 'b'], start: 1, end: 11 }]);
    });
  });

  describe('checkExpression', () => {
    const allowed = ['inputs', 'steps', 'env', 'item', 'index'];
    const check = (text: string) => checkExpression(parse(text), allowed);

    it('accepts valid expressions; context names are case-sensitive', () => {
      const text = "format('{0}', inputs.a) == steps.x.output && toJSON(item) || INDEX == null";
      const issues = check(text);
      assert.deepEqual(issues.map((i) => [i.message, covered(text, i)]), [["unknown context 'INDEX'. Did you mean 'index'?", 'INDEX']]);
      assert.deepEqual(check("contains(fromJSON(env.LIST), item) && tojson(index) != ''"), []);
    });

    it('reports unknown contexts with a suggestion', () => {
      const text = "inptus.name == 'x'";
      assert.deepEqual(check(text), [{ message: "unknown context 'inptus'. Did you mean 'inputs'?", start: 0, end: 6 }]);
      assert.deepEqual(check('stpes.a'), [{ message: "unknown context 'stpes'. Did you mean 'steps'?", start: 0, end: 5 }]);
    });

    it('lists the available contexts when nothing is close', () => {
      assert.deepEqual(check('secrets.token'), [
        { message: "unknown context 'secrets'. Available here: inputs, steps, env, item, index.", start: 0, end: 7 },
      ]);
      assert.deepEqual(checkExpression(parse('item'), []), [{ message: "unknown context 'item'.", start: 0, end: 4 }]);
    });

    it('reports unknown functions with a suggestion, ranging the name', () => {
      const text = "tojsn(inputs)";
      assert.deepEqual(check(text), [{ message: "unknown function 'tojsn'. Did you mean 'toJSON'?", start: 0, end: 5 }]);
      assert.deepEqual(check('startswith(1, 2) && strtsWith(1, 2)'), [
        { message: "unknown function 'strtsWith'. Did you mean 'startsWith'?", start: 20, end: 29 },
      ]);
      const [issue] = check('hashFiles(1)');
      assert.match(issue.message, /^unknown function 'hashFiles'\. Available functions: contains, endsWith, format/);
      assert.deepEqual([issue.start, issue.end], [0, 9]);
    });

    it('reports wrong argument counts, ranging the call', () => {
      const text = "inputs.a && contains('a')";
      assert.deepEqual(check(text), [{ message: "'contains' takes 2 arguments, got 1", start: 12, end: 25 }]);
      assert.deepEqual(check('lower()')[0].message, "'lower' takes 1 argument, got 0");
      assert.deepEqual(check('join(1, 2, 3)')[0].message, "'join' takes 1 to 2 arguments, got 3");
      assert.deepEqual(check('format()')[0].message, "'format' takes at least 1 argument, got 0");
      assert.deepEqual(check("format('{0}{1}{2}{3}', 1, 2, 3, 4)"), []);
    });

    it('reports every problem, nested ones included', () => {
      const text = 'upper(lower(inptus, 1), nope(envv))';
      assert.deepEqual(
        check(text).map((i) => [i.message, covered(text, i)]),
        [
          ["'upper' takes 1 argument, got 2", text],
          ["'lower' takes 1 argument, got 2", 'lower(inptus, 1)'],
          ["unknown context 'inptus'. Did you mean 'inputs'?", 'inptus'],
          ["unknown function 'nope'. Available functions: " + BUILTIN_FUNCTIONS.map((f) => f.name).join(', ') + '.', 'nope'],
          ["unknown context 'envv'. Did you mean 'env'?", 'envv'],
        ],
      );
    });
  });

  describe('templates', () => {
    const tpl = (text: string) => parseTemplate(text);
    const render = (text: string, contexts: Readonly<Record<string, unknown>> = CONTEXTS) => evaluateTemplate(tpl(text), contexts);

    it('keeps text without expressions literal', () => {
      const t = tpl('plain text with $ and { braces } and }} and ${ x }');
      assert.deepEqual(t, {
        parts: [{ kind: 'text', value: 'plain text with $ and { braces } and }} and ${ x }', start: 0, end: 50 }],
        errors: [],
      });
      assert.equal(hasExpressions(t), false);
      assert.equal(evaluateTemplate(t, CONTEXTS), 'plain text with $ and { braces } and }} and ${ x }');
      assert.deepEqual(tpl(''), { parts: [], errors: [] });
      assert.equal(render(''), '');
    });

    it('splits text and expressions with source offsets', () => {
      const text = 'Hi ${{ inputs.name }}, you have ${{inputs.count}} items';
      const t = tpl(text);
      assert.equal(hasExpressions(t), true);
      assert.deepEqual(t.errors, []);
      assert.deepEqual(
        t.parts.map((p) => [p.kind, p.kind === 'text' ? p.value : p.source, p.start, p.end]),
        [
          ['text', 'Hi ', 0, 3],
          ['expression', ' inputs.name ', 6, 19],
          ['text', ', you have ', 21, 32],
          ['expression', 'inputs.count', 35, 47],
          ['text', ' items', 49, 55],
        ],
      );
      for (const p of t.parts) {
        if (p.kind === 'expression') {
          assert.equal(text.slice(p.start, p.end), p.source);
          assert.ok(p.expr);
        }
      }
      assert.equal(evaluateTemplate(t, CONTEXTS), 'Hi Ada, you have 3 items');
    });

    it('keeps the type of a lone expression', () => {
      assert.equal(render('${{ inputs.count }}'), 3);
      assert.equal(render('  ${{ inputs.flag }}\n'), false);
      assert.equal(render('${{ inputs.missing }}'), null);
      assert.deepEqual(render('${{ obj.b }}'), { c: [1, 2] });
      assert.deepEqual(render('${{ inputs.list.* }}'), [10, 20, 30]);
    });

    it('concatenates display strings otherwise', () => {
      assert.equal(render('n=${{ inputs.count }}'), 'n=3');
      assert.equal(render('${{ 1 }}${{ 2 }}'), '12');
      assert.equal(render('[${{ inputs.missing }}]'), '[]');
      assert.equal(render('${{ obj.b }} and ${{ true }}'), '{"c":[1,2]} and true');
      assert.equal(render('${{ inputs.list }}.'), '[10,20,30].');
      assert.equal(render(' ${{ 1 }} ${{ 2 }} '), ' 1 2 ');
    });

    it('skips }} inside string literals, including escaped quotes', () => {
      const t = tpl("a ${{ format('{{0}}', 1) }} b ${{ 'it''s }} done' }}");
      assert.deepEqual(t.errors, []);
      assert.deepEqual(
        t.parts.filter((p) => p.kind === 'expression').map((p) => p.source),
        [" format('{{0}}', 1) ", " 'it''s }} done' "],
      );
      assert.equal(evaluateTemplate(t, CONTEXTS), "a {0} b it's }} done");
      assert.equal(render("${{ '${{ not nested }}' }}"), '${{ not nested }}');
    });

    it('reports an unterminated ${{ at its position', () => {
      const t = tpl('abc ${{ inputs.name ');
      assert.deepEqual(t.errors, [{ message: "unterminated expression: missing '}}'", start: 4, end: 7 }]);
      assert.deepEqual(t.parts, [
        { kind: 'text', value: 'abc ', start: 0, end: 4 },
        { kind: 'expression', source: ' inputs.name ', start: 7, end: 20 },
      ]);
      assert.deepEqual(tpl('${{').errors, [{ message: "unterminated expression: missing '}}'", start: 0, end: 3 }]);
      assert.deepEqual(tpl('${{ a }} ${{ b }').errors, [{ message: "unterminated expression: missing '}}'", start: 9, end: 12 }]);
    });

    it('hints at an unclosed string literal when a }} follows', () => {
      const t = tpl("x ${{ 'abc }} y");
      assert.deepEqual(t.errors, [
        { message: "unterminated expression: missing '}}' (is a string literal missing its closing quote?)", start: 2, end: 5 },
      ]);
    });

    it('reports an empty expression', () => {
      const t = tpl('a ${{ }} b ${{}}');
      assert.deepEqual(t.errors, [
        { message: 'empty expression', start: 2, end: 8 },
        { message: 'empty expression', start: 11, end: 16 },
      ]);
      assert.deepEqual(
        t.parts.map((p) => p.kind),
        ['text', 'expression', 'text', 'expression'],
      );
    });

    it('reports syntax errors with offsets in the template', () => {
      const text = 'hello ${{ inputs.name }} and ${{ inputs.x == "y" }}';
      const t = tpl(text);
      assert.deepEqual(t.errors, [{ message: "strings in expressions use single quotes: 'text'", start: 45, end: 48 }]);
      assert.equal(covered(text, t.errors[0]), '"y"');
      const expressions = t.parts.filter((p) => p.kind === 'expression');
      assert.ok(expressions[0].expr);
      assert.equal(expressions[1].expr, undefined);
    });

    it('collects errors from several expressions', () => {
      const text = '${{ a b }} ok ${{ (c }}';
      const t = tpl(text);
      assert.deepEqual(
        t.errors.map((e) => [e.message, e.start, e.end]),
        [
          ["unexpected 'b' after the expression; expected an operator", 6, 7],
          ["missing ')' to close '('", 21, 21],
        ],
      );
    });

    it('counts offsets in UTF-16 code units after unicode text', () => {
      const text = '😀 é ${{ "x" }}';
      const t = tpl(text);
      assert.equal(t.parts[1].start, 8);
      assert.equal(covered(text, t.errors[0]), '"x"');
      assert.equal(render('日本 ${{ upper(\'ü\') }} 😀'), '日本 Ü 😀');
    });

    it('throws the first syntax error when evaluated', () => {
      assert.throws(
        () => render('ok ${{ a = 1 }}'),
        (e: unknown) => e instanceof ExpressionError && e.message === "unexpected '=': use '==' to compare" && e.start === 9 && e.end === 10,
      );
      assert.throws(() => render('${{ }}'), (e: unknown) => e instanceof ExpressionError && e.message === 'empty expression');
    });

    it('rethrows evaluation errors with offsets in the template', () => {
      const text = 'a ${{ inputs.name }} b ${{ length(inputs.count) }}';
      try {
        render(text);
        assert.fail('expected an error');
      } catch (e) {
        assert.ok(e instanceof ExpressionError);
        assert.equal(e.message, 'length: expected a string, array or object, got number');
        assert.equal(covered(text, e), 'length(inputs.count)');
      }
    });

    it('evaluates the same parsed template against different contexts', () => {
      const t = tpl('#${{ index }}: ${{ item.name }}');
      assert.equal(evaluateTemplate(t, { index: 0, item: { name: 'a' } }), '#0: a');
      assert.equal(evaluateTemplate(t, { index: 1, item: { name: 'b' } }), '#1: b');
      assert.equal(evaluateTemplate(t, {}), '#: ');
    });
  });
});
