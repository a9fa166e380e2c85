import { evaluate, ExpressionError } from './calculator.js';

describe('calculator', () => {
  it.each([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['2 ^ 3 ^ 2', 512],
    ['2 ** 10', 1024],
    ['-2 ^ 2', -4],
    ['2 ^ -1', 0.5],
    ['10 % 4', 2],
    ['7 / 2', 3.5],
    ['.5 + 1e3', 1000.5],
    ['--3', 3],
    ['sqrt(16) + abs(-2)', 6],
    ['max(1, 5, 3) - min(4, 2)', 3],
    ['log(1000)', 3],
    ['log(8, 2)', 3],
    ['round(pi * 100) / 100', 3.14],
    ['PI', Math.PI],
  ])('%s = %d', (expression, expected) => {
    expect(evaluate(expression)).toBeCloseTo(expected, 10);
  });

  it.each([
    ['', 'empty'],
    ['1 +', 'ends too early'],
    ['2 * (3', "Expected ')'"],
    ['1 2', "Unexpected '2'"],
    ['process.exit()', "Unexpected character '.'"],
    ['foo(1)', "Unknown function 'foo'"],
    ['x + 1', "Unknown name 'x'"],
    ['sqrt(1, 2)', 'takes 1 argument'],
    ['1 / 0', 'not a finite number'],
    ['('.repeat(100) + '1' + ')'.repeat(100), 'nests deeper'],
  ])('refuses %j (%s)', (expression, message) => {
    expect(() => evaluate(expression)).toThrow(ExpressionError);
    expect(() => evaluate(expression)).toThrow(message);
  });
});
